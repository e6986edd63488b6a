/**
 * Where an SAE sits, as the pages print it: its hook, or "input → output" for a transcoder (cfg.json hook_name_out),
 * which reads at one hook and writes at another.
 */
export function saeHooks(hookName: string, cfg: unknown): string {
  const out = (cfg as { hook_name_out?: unknown } | null)?.hook_name_out;
  return typeof out === 'string' && out !== hookName ? `${hookName} → ${out}` : hookName;
}
