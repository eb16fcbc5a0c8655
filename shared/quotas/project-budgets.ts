import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Member } from '../accounts/user-store';
import { TtlCache } from '../cache';
import { keys } from '../db/keys';
import type { EmailSender } from '../email/email-sender';
import { projectBudgetAlertMessage } from '../email/templates';
import type { Logger } from '../logger';
import { formatUsd } from '../metering/pricing';
import type { ProjectMonth } from '../metering/usage-consumer';
import type { Project, ProjectRole } from '../projects/project';
import { ALERT_THRESHOLDS, type AlertStore, type AlertThreshold, type UsageAlert } from './alerts';
import { windowsAt } from './windows';

/** What the project budget alerts read: the project, its members, the team, the tenant's name. */
export interface ProjectBudgetSources {
  projects: {
    get(tenantId: string, projectId: string): Promise<Project | undefined>;
    members(tenantId: string, projectId: string): Promise<{ userId: string; role: ProjectRole }[]>;
  };
  users: { listMembers(tenantId: string): Promise<Member[]> };
  tenants: { get(tenantId: string): Promise<{ name: string } | undefined> };
}

/** A project's budget as it applies (absent `budgetMode`: a hard stop). */
export interface ProjectBudget {
  amountNanoUsd: number;
  mode: 'hard_stop' | 'alert_only';
}

export function projectBudgetOf(project: Project | null | undefined): ProjectBudget | undefined {
  const amount = project?.limits?.budgetNanoUsd;
  if (amount === undefined || amount === null || amount <= 0) return undefined;
  return { amountNanoUsd: amount, mode: project?.limits?.budgetMode ?? 'hard_stop' };
}

/** The thresholds (50, 80, 100) that `usedNanoUsd` has reached of `budget` (exact, in BigInt). */
export function reachedProjectThresholds(budget: ProjectBudget, usedNanoUsd: number): AlertThreshold[] {
  const used = BigInt(Math.max(0, Math.trunc(usedNanoUsd))) * 100n;
  return ALERT_THRESHOLDS.filter((t) => used >= BigInt(budget.amountNanoUsd) * BigInt(t));
}

/**
 * Who a project budget's alerts go to: the project's owners who are still members of the team,
 * and the tenant's owners (each address once).
 */
export function projectRecipients(
  projectMembers: { userId: string; role: ProjectRole }[],
  members: Member[],
): string[] {
  const byId = new Map(members.map((m) => [m.userId, m.email]));
  const out = new Set<string>();
  for (const m of projectMembers) {
    const email = m.role === 'owner' ? byId.get(m.userId) : undefined;
    if (email) out.add(email);
  }
  for (const m of members) if (m.role === 'owner') out.add(m.email);
  return [...out];
}

/**
 * Per-project budget alerts, as the key budgets' (KeyBudgetAlerts): each threshold (50, 80, 100%)
 * of a project's budget reached is recorded once per project per month (a conditional put keyed
 * by tenant x month x project x threshold: one winner however many consumers or instances notice
 * it), and its winner emails the project's owners and the tenant's owners.
 *
 * Measured on the project's month total that the usage consumer keeps from the usage records
 * (exact, counted once), checked after each batch: off the request path, so an alert-only budget
 * costs admission nothing. A hard stop's 100% is also raised when the budget refuses a request
 * (`onRefused`): a budget stops requests before the month's use can reach it exactly.
 */
export class ProjectBudgetAlerts {
  /** Projects (with or without a budget) for a short while: a batch reads each one once. */
  private readonly projects: TtlCache<Project | null>;
  /** Alerts known to exist: after the first try a reached threshold costs nothing. */
  private readonly known: TtlCache<true>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly usageTable: string,
    private readonly store: AlertStore,
    private readonly sources: ProjectBudgetSources,
    private readonly email: EmailSender,
    private readonly opts: {
      publicUrl: string;
      now: () => Date;
      log?: Logger;
      /** How long a project's budget may lag an owner's change here (AUTH_CACHE_TTL_MS). */
      projectCacheMs: number;
    },
  ) {
    this.projects = new TtlCache(opts.projectCacheMs, 10_000);
    this.known = new TtlCache(3_600_000, 50_000);
  }

  /** A project's month spend as the usage consumer counted it (nano-USD). */
  async monthSpend(tenantId: string, projectId: string, month: string): Promise<number> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.usageTable,
        Key: keys.usageProjectMonth(tenantId, projectId, month),
        ConsistentRead: true,
        ProjectionExpression: 'costNanoUsd',
      }),
    );
    return Number(out.Item?.costNanoUsd ?? 0);
  }

  /** After a consumer batch: every touched project with a budget, checked. Never throws. */
  async afterBatch(touched: ProjectMonth[]): Promise<void> {
    await Promise.all(
      touched.map((t) =>
        this.check(t).catch((err: unknown) =>
          this.opts.log?.warn(
            { err, tenantId: t.tenantId, projectId: t.projectId },
            'project budget alert check failed',
          ),
        ),
      ),
    );
  }

  /** Raises the thresholds of the project's budget that its month spend has reached; returns the new ones. */
  async check(t: ProjectMonth): Promise<UsageAlert[]> {
    const pending = ALERT_THRESHOLDS.filter((th) => !this.known.get(memoKey(t, th)));
    if (pending.length === 0) return [];
    const project = await this.project(t.tenantId, t.projectId);
    const budget = projectBudgetOf(project);
    if (!project || !budget) return [];
    const used = await this.monthSpend(t.tenantId, t.projectId, t.month);
    const reached = reachedProjectThresholds(budget, used).filter((th) => pending.includes(th));
    return this.raise(project, budget, t.month, reached, used);
  }

  /**
   * A request refused by the project's hard-stop budget: its 100% alert. The month's use is the
   * consumer's total (what was spent; the refusing counter also holds capacity leases keep unused).
   */
  async onRefused(tenantId: string, projectId: string, now: Date): Promise<UsageAlert[]> {
    const month = windowsAt(now).month;
    const t = { tenantId, projectId, month };
    if (this.known.get(memoKey(t, 100))) return [];
    const project = await this.project(tenantId, projectId);
    const budget = projectBudgetOf(project);
    if (!project || !budget || budget.mode !== 'hard_stop') return [];
    const used = await this.monthSpend(tenantId, projectId, month);
    return this.raise(project, budget, month, [100], used);
  }

  private project(tenantId: string, projectId: string): Promise<Project | null> {
    return this.projects.getOrLoad(
      `${tenantId}#${projectId}`,
      async () => (await this.sources.projects.get(tenantId, projectId)) ?? null,
    );
  }

  private async raise(
    project: Project,
    budget: ProjectBudget,
    month: string,
    thresholds: AlertThreshold[],
    used: number,
  ): Promise<UsageAlert[]> {
    if (thresholds.length === 0) return [];
    const t = { tenantId: project.tenantId, projectId: project.id, month };
    const [members, projectMembers] = await Promise.all([
      this.sources.users.listMembers(project.tenantId),
      this.sources.projects.members(project.tenantId, project.id),
    ]);
    const to = projectRecipients(projectMembers, members);
    const at = this.opts.now().toISOString();
    const recorded: UsageAlert[] = [];
    for (const threshold of thresholds) {
      const alert: UsageAlert = {
        tenantId: project.tenantId,
        month,
        metric: 'project_spend',
        threshold,
        used,
        limit: budget.amountNanoUsd,
        at,
        notified: to.length ? to.join(', ') : null,
        projectId: project.id,
        projectName: project.name,
        budgetMode: budget.mode,
        recipients: to,
      };
      if (await this.store.record(alert)) recorded.push(alert);
      this.known.set(memoKey(t, threshold), true);
    }
    if (recorded.length === 0) return [];
    // Several thresholds crossed at once: one email per address, for the highest.
    const highest = recorded.reduce((a, b) => (b.threshold > a.threshold ? b : a));
    const tenantName = (await this.sources.tenants.get(project.tenantId))?.name ?? project.tenantId;
    for (const address of to) {
      await this.email.send(
        projectBudgetAlertMessage(address, this.opts.publicUrl, {
          tenantName,
          projectName: project.name,
          month,
          threshold: highest.threshold,
          used: `$${formatUsd(highest.used)}`,
          budget: `$${formatUsd(highest.limit)}`,
          mode: budget.mode,
        }),
      );
    }
    return recorded;
  }
}

function memoKey(t: ProjectMonth, threshold: AlertThreshold | number): string {
  return `${t.tenantId}#${t.projectId}#${t.month}#${threshold}`;
}
