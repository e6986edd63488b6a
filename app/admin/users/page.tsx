import Link from 'next/link';
import { UserControls } from '../../_components/team-controls';
import { adminCaller } from '../admin-caller';
import { day } from '../../_lib/time';

export const metadata = { title: 'Accounts · Lexicon' };

/** Admins: every account, its site role and whether it may sign in. */
export default async function UsersPage() {
  const users = await (await adminCaller()).admin.users();
  return (
    <>
      <h1>Accounts</h1>
      <p>
        <Link href="/admin/audit">Audit log</Link> · <Link href="/admin/explainer">Explainer endpoint</Link>
      </p>
      <p className="muted">Site roles: viewers read and run compute, editors also edit the wiki, admins manage everything. Teams grant their own roles.</p>
      <table data-testid="users">
        <thead>
          <tr>
            <th>Name</th>
            <th>Email</th>
            <th>Since</th>
            <th>Site role</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} className={u.disabled ? 'muted' : undefined}>
              <td>
                {u.name}
                {u.disabled && ' (disabled)'}
              </td>
              <td>{u.email}</td>
              <td>{day(u.createdAt)}</td>
              <UserControls userId={u.id} name={u.name ?? u.email ?? ''} role={u.role} disabled={u.disabled} />
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
