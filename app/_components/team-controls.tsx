'use client';
/** Controls for teams, accounts and who sees what: new team, members and their roles, site roles, access settings. */
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';

export function NewTeamForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const create = useMutation(trpc.team.create.mutationOptions({ onSuccess: (team) => router.push(`/teams/${team.slug}`) }));
  return (
    <form
      className="panel stack-wide"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate({ slug, name });
      }}
    >
      <h2>New team</h2>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} maxLength={80} required />
      </label>
      <label>
        Slug (its address: /teams/slug)
        <input value={slug} onChange={(e) => setSlug(e.target.value)} maxLength={40} pattern="[a-z0-9][a-z0-9\-]{1,39}" title="2 to 40 lowercase letters, digits or dashes" required />
      </label>
      <div className="row">
        <button type="submit" disabled={create.isPending}>
          Create team
        </button>
      </div>
      <ErrorLine error={create.error} />
    </form>
  );
}

const TEAM_ROLES = ['viewer', 'editor', 'maintainer'] as const;
type TeamRole = (typeof TEAM_ROLES)[number];

/**
 * Maintainers invite an email with a role. The answer is the same whether or not an account has the email
 * (server/teams.ts inviteMember); the account joins when it accepts on its Teams page.
 */
export function InviteForm({ teamId }: { teamId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<TeamRole>('viewer');
  const invite = useMutation(
    trpc.team.invite.mutationOptions({
      onSuccess: () => {
        setEmail('');
        router.refresh();
      },
    }),
  );
  return (
    <form
      className="stack"
      onSubmit={(e) => {
        e.preventDefault();
        invite.mutate({ teamId, email, role });
      }}
    >
      <div className="row">
        <label>
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required data-testid="member-email" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as TeamRole)} data-testid="member-role">
            {TEAM_ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={invite.isPending}>
          Invite
        </button>
      </div>
      {invite.data && (
        <p className="muted" role="status" data-testid="invited">
          {invite.data.message}
        </p>
      )}
      <ErrorLine error={invite.error} />
    </form>
  );
}

/** A maintainer withdraws an invitation not yet taken up. */
export function CancelInvitation({ teamId, email }: { teamId: string; email: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const cancel = useMutation(trpc.team.cancelInvitation.mutationOptions({ onSuccess: () => router.refresh() }));
  return (
    <>
      <button type="button" className="secondary" disabled={cancel.isPending} onClick={() => cancel.mutate({ teamId, email })}>
        Withdraw
      </button>
      <ErrorLine error={cancel.error} inline />
    </>
  );
}

/** The invited account joins the team, or turns the invitation down. */
export function InvitationControls({ teamId, slug }: { teamId: string; slug: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const accept = useMutation(trpc.team.acceptInvitation.mutationOptions({ onSuccess: () => router.push(`/teams/${slug}`) }));
  const decline = useMutation(trpc.team.declineInvitation.mutationOptions({ onSuccess: () => router.refresh() }));
  const pending = accept.isPending || decline.isPending;
  return (
    <>
      <button type="button" disabled={pending} onClick={() => accept.mutate({ teamId })}>
        Join
      </button>{' '}
      <button type="button" className="secondary" disabled={pending} onClick={() => decline.mutate({ teamId })}>
        Decline
      </button>
      <ErrorLine error={accept.error ?? decline.error} inline />
    </>
  );
}

/** A member's role (a select for maintainers) and removal; every member may leave. */
export function MemberControls(props: { teamId: string; userId: string; name: string; role: TeamRole; canManage: boolean; isMe: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const refresh = { onSuccess: () => router.refresh() };
  const setRole = useMutation(trpc.team.setRole.mutationOptions(refresh));
  const remove = useMutation(trpc.team.removeMember.mutationOptions(refresh));
  return (
    <>
      <td>
        {props.canManage ? (
          <select
            aria-label={`Role of ${props.name}`}
            value={props.role}
            disabled={setRole.isPending}
            onChange={(e) => setRole.mutate({ teamId: props.teamId, userId: props.userId, role: e.target.value as TeamRole })}
          >
            {TEAM_ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        ) : (
          props.role
        )}
      </td>
      <td>
        {(props.canManage || props.isMe) && (
          <button type="button" className="secondary" disabled={remove.isPending} onClick={() => remove.mutate({ teamId: props.teamId, userId: props.userId })}>
            {props.isMe ? 'Leave' : 'Remove'}
          </button>
        )}
        <ErrorLine error={setRole.error ?? remove.error} />
      </td>
    </>
  );
}

const SITE_ROLES = ['viewer', 'editor', 'admin'] as const;

/** An account's site role and whether it is disabled (admins). */
export function UserControls(props: { userId: string; name: string; role: (typeof SITE_ROLES)[number]; disabled: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const refresh = { onSuccess: () => router.refresh() };
  const setRole = useMutation(trpc.admin.setRole.mutationOptions(refresh));
  const setDisabled = useMutation(trpc.admin.setDisabled.mutationOptions(refresh));
  return (
    <>
      <td>
        <select
          aria-label={`Site role of ${props.name}`}
          value={props.role}
          disabled={setRole.isPending}
          onChange={(e) => setRole.mutate({ userId: props.userId, role: e.target.value as (typeof SITE_ROLES)[number] })}
        >
          {SITE_ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </td>
      <td>
        <button type="button" className="secondary" disabled={setDisabled.isPending} onClick={() => setDisabled.mutate({ userId: props.userId, disabled: !props.disabled })}>
          {props.disabled ? 'Enable' : 'Disable'}
        </button>
        <ErrorLine error={setRole.error ?? setDisabled.error} />
      </td>
    </>
  );
}

type Visibility = 'public' | 'team' | 'private';

/** The team and visibility of a model or an SAE, for those who manage it. */
export function AccessSettings(props: {
  resource: { model: string; sae?: string };
  teamId: string | null;
  visibility: Visibility;
  teams: { id: string; slug: string; name: string }[];
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const [teamId, setTeamId] = useState(props.teamId ?? '');
  const [visibility, setVisibility] = useState<Visibility>(props.visibility);
  const save = useMutation(trpc.team.setAccess.mutationOptions({ onSuccess: () => router.refresh() }));
  const dirty = teamId !== (props.teamId ?? '') || visibility !== props.visibility;
  return (
    <form
      className="panel row"
      data-testid="access-settings"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate({ ...props.resource, teamId: teamId || null, visibility });
      }}
    >
      <strong>Access</strong>
      <label>
        Team
        <select value={teamId} onChange={(e) => setTeamId(e.target.value)} data-testid="access-team">
          <option value="">no team</option>
          {props.teams.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name} ({t.slug})
            </option>
          ))}
        </select>
      </label>
      <label>
        Visible to
        <select value={visibility} onChange={(e) => setVisibility(e.target.value as Visibility)} data-testid="access-visibility">
          <option value="public">everyone (public)</option>
          <option value="team">the team only</option>
          <option value="private">only me (private)</option>
        </select>
      </label>
      <button type="submit" disabled={!dirty || save.isPending}>
        Save access
      </button>
      {save.isSuccess && !dirty && <span role="status">Saved.</span>}
      <ErrorLine error={save.error} />
    </form>
  );
}
