/**
 * The audit log: role, account, team and visibility changes, each written in the transaction that makes the change
 * (so a change without its row, or a row without its change, cannot happen). Admins read it on /admin/audit.
 * Each entry also publishes an `access` event (on commit), on which open live streams check their reader's access
 * again and end when it is gone.
 */
import { sql } from 'drizzle-orm';
import { auditLog } from '@/drizzle/schema';
import type { Db } from './db';
import { ACCESS_TOPIC, publish } from './events';

export type AuditAction =
  | 'user.role'
  | 'user.disabled'
  | 'team.create'
  | 'team.member.add'
  | 'team.invite'
  | 'team.invite.cancel'
  | 'team.member.role'
  | 'team.member.remove'
  | 'access.set';

export interface AuditEntry {
  actorId: string | null;
  action: AuditAction;
  targetKind: 'user' | 'team' | 'model' | 'sae';
  targetId: string;
  /** what changed: before and after, and whatever names the target for a reader */
  detail: Record<string, unknown>;
}

export async function audit(tx: Db, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values(entry);
  await publish(tx, { topic: ACCESS_TOPIC, type: 'access' });
}

export interface AuditRow extends AuditEntry {
  id: number;
  actor: string | null;
  /** the target as a reader knows it: an account's name, a team's slug, model/sae */
  target: string;
  createdAt: Date;
}

/** The newest entries first, `before` an id for the next page. */
export async function auditEntries(db: Db, options: { limit?: number; before?: number } = {}): Promise<AuditRow[]> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select a.id, a.actor_id, a.action, a.target_kind, a.target_id, a.detail, a.created_at,
           coalesce(actor.name, actor.email) as actor,
           coalesce(case a.target_kind
             when 'user' then (select coalesce(u.name, u.email) from "user" u where u.id = a.target_id)
             when 'team' then (select t.slug from team t where t.id::text = a.target_id)
             when 'model' then (select m.slug from model m where m.id::text = a.target_id)
             when 'sae' then (select m.slug || '/' || s.slug from sae s join model m on m.id = s.model_id where s.id::text = a.target_id)
           end, a.target_id) as target
      from audit_log a left join "user" actor on actor.id = a.actor_id
     where ${options.before === undefined ? sql`true` : sql`a.id < ${options.before}`}
     order by a.id desc
     limit ${options.limit ?? 100}`);
  return rows.map((r) => ({
    id: Number(r.id),
    actorId: (r.actor_id as string | null) ?? null,
    actor: (r.actor as string | null) ?? null,
    action: r.action as AuditAction,
    targetKind: r.target_kind as AuditEntry['targetKind'],
    targetId: r.target_id as string,
    target: r.target as string,
    detail: r.detail as Record<string, unknown>,
    createdAt: new Date(r.created_at as string),
  }));
}
