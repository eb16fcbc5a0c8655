import { useEffect, useState } from 'preact/hooks';

interface OutboxMessage {
  id: number;
  kind: string;
  to: string;
  subject: string;
  text: string;
}

/**
 * Running locally, emails never leave the machine: the local server lists them at
 * /_local/outbox (a route the cloud does not have). This shows the newest one for an address,
 * with its link, so the local journey needs no terminal. Elsewhere it shows nothing.
 */
export function LocalOutbox(props: { email: string; kind: string }) {
  const [message, setMessage] = useState<OutboxMessage | null>(null);
  useEffect(() => {
    let live = true;
    let tries = 0;
    const look = () =>
      fetch(`/_local/outbox?to=${encodeURIComponent(props.email.trim().toLowerCase())}`)
        .then((r) => (r.ok ? (r.json() as Promise<{ data: OutboxMessage[] }>) : null))
        .then((body) => {
          if (!live || !body) return;
          const found = [...body.data].reverse().find((m) => m.kind === props.kind) ?? null;
          if (found) setMessage(found);
          else if (++tries < 5) setTimeout(look, 500);
        })
        .catch(() => undefined);
    void look();
    return () => {
      live = false;
    };
  }, [props.email, props.kind]);
  if (!message) return null;
  const link = /https?:\/\/\S+/.exec(message.text)?.[0];
  // The email links to PUBLIC_URL; locally, the same path on this origin is the console.
  const here = link ? new URL(link) : null;
  const href = here ? `${here.pathname}${here.search}` : null;
  return (
    <section class="notice notice-info local-outbox" aria-label="Local outbox">
      <strong>Running locally: the email is in the outbox</strong>
      <p>
        “{message.subject}” to {message.to}.
      </p>
      {href && (
        <p>
          <a class="btn btn-small" href={href}>
            Open the link from the email
          </a>
        </p>
      )}
      <p class="meta">
        All local emails: <a href="/_local/outbox">/_local/outbox</a>
      </p>
    </section>
  );
}
