import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import { formatSaeAddress, modelHref, saeHref } from '@/server/addresses';
import { CancelInvitation, InviteForm, MemberControls } from '../../_components/team-controls';
import { orNotFound } from '../../_lib/not-found';

const SEEN_BY = { public: 'everyone', team: 'team only', private: 'owner only' } as const;

/** A team: its members (maintainers change roles and invite people) and the models and SAEs it owns that you may see. */
export default async function TeamPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  const caller = await api();
  const [team, me] = await Promise.all([orNotFound(caller.team.get({ slug })), caller.auth.me()]);
  const mine = team.members.find((m) => m.userId === me?.id);
  const canManage = me?.role === 'admin' || mine?.role === 'maintainer';
  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/teams">teams</Link> / <span>{team.slug}</span>
      </nav>
      <h1>{team.name}</h1>
      <section>
        <h2>Members</h2>
        <table data-testid="members">
          <thead>
            <tr>
              <th>Name</th>
              <th>Handle</th>
              <th>Email</th>
              <th>Role</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {team.members.map((m) => (
              <tr key={m.userId}>
                <td>{m.name}</td>
                <td className="mono">@{m.handle}</td>
                <td className="muted">{m.email ?? '—'}</td>
                <MemberControls teamId={team.id} userId={m.userId} name={m.name ?? ''} role={m.role} canManage={canManage} isMe={m.userId === me?.id} />
              </tr>
            ))}
          </tbody>
        </table>
        {canManage && team.invitations.length > 0 && (
          <>
            <h3>Invited</h3>
            <table data-testid="invitations">
              <tbody>
                {team.invitations.map((i) => (
                  <tr key={i.email}>
                    <td>{i.email}</td>
                    <td>{i.role}</td>
                    <td className="muted">{i.invitedAt.toISOString().slice(0, 10)}</td>
                    <td>
                      <CancelInvitation teamId={team.id} email={i.email} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
        {canManage && <InviteForm teamId={team.id} />}
      </section>
      <section>
        <h2>Models and SAEs</h2>
        {team.models.length + team.saes.length === 0 ? (
          <p className="muted">None that you can see. Maintainers put a model or an SAE in the team from its page.</p>
        ) : (
          <ul data-testid="team-resources">
            {team.models.map((m) => (
              <li key={m.slug}>
                model <Link href={modelHref(m.slug)}>{m.slug}</Link> <span className="muted">({SEEN_BY[m.visibility]})</span>
              </li>
            ))}
            {team.saes.map((s) => (
              <li key={`${s.model}/${s.slug}`}>
                SAE <Link href={saeHref({ model: s.model, sae: s.slug })}>{formatSaeAddress({ model: s.model, sae: s.slug })}</Link> <span className="muted">({SEEN_BY[s.visibility]})</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
