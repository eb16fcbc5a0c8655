import type { ApiKeyStore } from '../auth/api-key-store';
import type { ApiKeyAuthenticator } from '../auth/authenticator';
import type { FixedWindowLimiter } from '../auth/rate-limiter';
import type { AccessTokens } from '../auth/sessions/jwt';
import type { SessionStore } from '../auth/sessions/session-store';
import type { Config } from '../config';
import type { TransactItem } from '../db/transact';
import type { EmailSender } from '../email/email-sender';
import type { ProjectStore } from '../projects/project-store';
import type { TenantStore } from '../tenants/tenant-store';
import type { AuditLog } from './audit-log';
import type { InvitationStore } from './invitation-store';
import type { OneTimeTokenStore } from './one-time-tokens';
import type { OperatorStore } from './operator-store';
import type { UserStore } from './user-store';

/** What the account services need: stores, the email port, session tokens, config and the clock. */
export interface AccountDeps {
  config: Config;
  tenants: TenantStore;
  users: UserStore;
  operators: OperatorStore;
  tokens: OneTimeTokenStore;
  invitations: InvitationStore;
  sessions: SessionStore;
  accessTokens: AccessTokens;
  apiKeys: ApiKeyStore;
  /** A tenant's projects and project members (keys belong to one). */
  projects: ProjectStore;
  /** The hot path's cache: revocations and suspensions evict from it on this instance. */
  authenticator: ApiKeyAuthenticator;
  audit: AuditLog;
  limiter: FixedWindowLimiter;
  email: EmailSender;
  /**
   * The trial a newly verified tenant gets from its plan: the writes of its trial grant (for the
   * activating transaction), or null when the plan gives none. Absent: no trials.
   */
  trials?: {
    items(
      tenantId: string,
      planId: string,
      now: Date,
    ): Promise<{ items: TransactItem[]; balanceItem: number } | null>;
  };
  /** One TransactWriteItems on the main table: how a change spanning stores stays atomic. */
  transact(items: TransactItem[]): Promise<void>;
  now: () => Date;
}

/** How long one-time email tokens live. */
export const tokenLifetimes = {
  verifyEmailHours: 24,
  resetPasswordMinutes: 60,
  invitationDays: 7,
} as const;

/** Account emails per address per hour (signup, resend, reset, invitation): inbox-flooding guard. */
export const EMAILS_PER_ADDRESS = { bucket: 'email-send', max: 5, windowSeconds: 3600 } as const;
