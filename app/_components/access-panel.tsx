/** Who sees a model or an SAE: a line for everyone, the settings for its maintainers and admins (server component). */
import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import { AccessSettings } from './team-controls';

const SEEN_BY = { public: 'everyone', team: 'the team only', private: 'its owner only' } as const;

export async function AccessPanel({ model, sae }: { model: string; sae?: string }) {
  const caller = await api();
  const access = await caller.team.access({ model, sae });
  const line = (
    <p className="muted" data-testid="access-line">
      {access.team ? (
        <>
          Team <Link href={`/teams/${access.team.slug}`}>{access.team.name}</Link>,{' '}
        </>
      ) : (
        'No team, '
      )}
      visible to {SEEN_BY[access.visibility]}.
    </p>
  );
  if (!access.canManage) return line;
  const maintained = await caller.team.maintained();
  const teams = access.team && !maintained.some((t) => t.id === access.team!.id) ? [access.team, ...maintained] : maintained;
  return (
    <>
      {line}
      <AccessSettings resource={{ model, sae }} teamId={access.team?.id ?? null} visibility={access.visibility} teams={teams} />
    </>
  );
}
