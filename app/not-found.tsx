/**
 * What a page that does not exist (or that the reader may not see) shows, inside the site's layout. Every page's
 * flight data carries it, so it stays small (Next.js's default one is 1 KiB of inline styles).
 */
import Link from 'next/link';

export default function NotFound() {
  return (
    <>
      <title>404: This page could not be found. · Lexicon</title>
      <h1>404</h1>
      <p>
        This page could not be found. <Link href="/">Lexicon&rsquo;s start page</Link>
      </p>
    </>
  );
}
