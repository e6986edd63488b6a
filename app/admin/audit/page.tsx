import Link from 'next/link';
import type { AuditRow } from '@/server/audit';
import { adminCaller } from '../admin-caller';

export const metadata = { title: 'Audit log · Lexicon' };

/** A before or after: a role, a flag, or an access setting ("team (lab)"). */
function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'object') return String(v);
  const access = v as { visibility: string; team: string | null };
  return access.team ? `${access.visibility} (${access.team})` : access.visibility;
}

/** What changed, as a reader says it: "role viewer → editor". */
function change(e: AuditRow): string {
  const d = e.detail as { before?: unknown; after?: unknown; name?: string; user?: string; slug?: string; email?: string };
  switch (e.action) {
    case 'team.create':
      return `created (${d.slug})`;
    case 'team.member.add':
      return `added ${d.name ?? d.user} as ${show(d.after)}`;
    case 'team.invite':
      return `invited ${d.email} as ${show(d.after)}`;
    case 'team.invite.cancel':
      return `withdrew the invitation of ${d.email}`;
    case 'team.member.remove':
      return `removed a member (${show(d.before)})`;
    default:
      return `${show(d.before)} → ${show(d.after)}`;
  }
}

/** Admins: role, account, team and visibility changes, newest first. */
export default async function AuditPage({ searchParams }: { searchParams: Promise<{ before?: string }> }) {
  const { before } = await searchParams;
  const page = /^\d{1,15}$/.test(before ?? '') ? Number(before) : undefined;
  const entries = await (await adminCaller()).admin.audit({ before: page, limit: 100 });
  return (
    <>
      <h1>Audit log</h1>
      <table data-testid="audit">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>Action</th>
            <th>Target</th>
            <th>Change</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td className="mono">{e.createdAt.toISOString().replace('T', ' ').slice(0, 19)}</td>
              <td>{e.actor ?? <span className="muted">system</span>}</td>
              <td className="mono">{e.action}</td>
              <td>
                {e.targetKind} {e.targetKind === 'team' ? <Link href={`/teams/${e.target}`}>{e.target}</Link> : e.target}
              </td>
              <td>{change(e)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {entries.length === 100 && <Link href={`/admin/audit?before=${entries.at(-1)!.id}`}>Older entries</Link>}
    </>
  );
}
