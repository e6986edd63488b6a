import Link from 'next/link';
import { api } from '@/server/api/server-caller';

export default async function HomePage() {
  const models = await (await api()).model.list();
  return (
    <>
      <h1>Models</h1>
      {models.length === 0 ? (
        <p className="muted">
          No models registered. Put a model directory under LEXICON_MODELS_DIR, or run <code>npx lexicon model add DIR</code>.
        </p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Model</th>
              <th>Architecture</th>
              <th>Layers</th>
              <th>d_model</th>
              <th>Vocabulary</th>
              <th>Context</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => {
              const c = m.config as { nLayers: number; dModel: number; vocabSize: number; contextLength: number };
              return (
                <tr key={m.id}>
                  <td>
                    <Link href={`/${m.slug}`}>{m.slug}</Link>
                  </td>
                  <td>{m.architecture}</td>
                  <td>{c.nLayers}</td>
                  <td>{c.dModel}</td>
                  <td>{c.vocabSize}</td>
                  <td>{c.contextLength}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}
