import type { EmailMessage, EmailSender } from './email-sender';

export interface OutboxMessage extends EmailMessage {
  id: number;
  sentAt: string;
}

/**
 * Keeps sent messages in memory (the newest `capacity`) instead of delivering them: the local
 * runner prints each one and shows them at `GET /_local/outbox`; tests read them directly.
 */
export class OutboxEmailSender implements EmailSender {
  private readonly messages: OutboxMessage[] = [];
  private nextId = 1;

  constructor(
    private readonly opts: {
      capacity?: number;
      onSend?: (message: OutboxMessage) => void;
      now?: () => Date;
    } = {},
  ) {}

  async send(message: EmailMessage): Promise<void> {
    const stored: OutboxMessage = {
      ...message,
      id: this.nextId++,
      sentAt: (this.opts.now?.() ?? new Date()).toISOString(),
    };
    this.messages.push(stored);
    if (this.messages.length > (this.opts.capacity ?? 200)) this.messages.shift();
    this.opts.onSend?.(stored);
  }

  /** Newest first, optionally only those to one address. */
  list(to?: string): OutboxMessage[] {
    const all = [...this.messages].reverse();
    return to ? all.filter((m) => m.to === to.toLowerCase()) : all;
  }

  /** The newest message to an address (of a kind), if any. */
  latest(to: string, kind?: EmailMessage['kind']): OutboxMessage | undefined {
    return this.list(to).find((m) => !kind || m.kind === kind);
  }
}
