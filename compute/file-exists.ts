import { access } from 'node:fs/promises';

/** Whether the path can be reached (a missing optional file is not an error to the readers that ask). */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
