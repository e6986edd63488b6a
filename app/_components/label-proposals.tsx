/**
 * The feature page's label proposals: who set the shown label, the alternatives with their authors and votes, a
 * vote per signed-in user (again to move it, or withdraw), and a proposal box for editors. Rendered on the server
 * with its data; the client part refreshes after each change.
 */
import { api } from '@/server/api/server-caller';
import { ProposalsPanel } from './label-proposals-panel';

export async function LabelProposals(props: { address: { model: string; sae: string; index: number }; canEdit: boolean; signedIn: boolean; viewerId: string | null }) {
  const standing = await (await api()).wiki.proposals(props.address);
  return <ProposalsPanel {...props} initial={standing} />;
}
