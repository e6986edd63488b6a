import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import { InvitationControls, NewTeamForm } from '../_components/team-controls';

export const metadata = { title: 'Teams · Lexicon' };

/** Invitations to your email, every team (yours first) and a form to start one. */
export default async function TeamsPage() {
  const caller = await api();
  const [teams, me, invitations] = await Promise.all([caller.team.list(), caller.auth.me(), caller.team.invitations()]);
  return (
    <>
      <h1>Teams</h1>
      {invitations.length > 0 && (
        <section className="panel" data-testid="my-invitations">
          <h2>Invitations</h2>
          <ul>
            {invitations.map((i) => (
              <li key={i.teamId}>
                <Link href={`/teams/${i.slug}`}>{i.name}</Link> invites you as {i.role}
                {i.invitedBy && <span className="muted"> (from {i.invitedBy})</span>}: <InvitationControls teamId={i.teamId} slug={i.slug} />
              </li>
            ))}
          </ul>
        </section>
      )}
      <p className="muted">A team owns models and SAEs and decides who sees them: everyone, the team, or one person.</p>
      {me ? (
        <NewTeamForm />
      ) : (
        <p className="muted">
          <Link href="/signin">Sign in</Link> to start a team.
        </p>
      )}
      {teams.length === 0 ? (
        <p className="muted">No teams yet.</p>
      ) : (
        <table data-testid="teams">
          <thead>
            <tr>
              <th>Team</th>
              <th>Members</th>
              <th>Your role</th>
            </tr>
          </thead>
          <tbody>
            {teams.map((t) => (
              <tr key={t.id}>
                <td>
                  <Link href={`/teams/${t.slug}`}>{t.name}</Link> <span className="muted mono">{t.slug}</span>
                </td>
                <td>{t.members}</td>
                <td>{t.role ?? <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
