import { hashPassword, MIN_PASSWORD_LENGTH } from '../auth/passwords';
import { newId } from '../ids';
import type { AuditActor, AuditLog } from './audit-log';
import { normalizeEmail } from './email-address';
import type { Operator, OperatorStore } from './operator-store';

export type CreateOperatorResult =
  | { status: 'created'; operator: Omit<Operator, 'passwordHash'> }
  | { status: 'email_taken' }
  | { status: 'invalid'; message: string };

/**
 * Creates an operator (from the CLI or first-start config; never from an HTTP route), with its
 * audit entry in the same transaction.
 */
export async function createOperator(
  d: { operators: OperatorStore; audit: AuditLog; now: () => Date },
  input: { email: string; password: string; actor: AuditActor },
): Promise<CreateOperatorResult> {
  const email = normalizeEmail(input.email);
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
    return { status: 'invalid', message: `'${email}' is not an email address` };
  if (input.password.length < MIN_PASSWORD_LENGTH)
    return {
      status: 'invalid',
      message: `the password must have at least ${MIN_PASSWORD_LENGTH} characters`,
    };
  const now = d.now();
  const operator: Operator = {
    id: newId('opr', now.getTime()),
    email,
    passwordHash: await hashPassword(input.password),
    createdAt: now.toISOString(),
  };
  const entry = d.audit.entry(
    {
      actor: input.actor,
      action: 'operator.create',
      target: { type: 'operator', id: operator.id },
      before: null,
      after: { email },
      requestId: null,
    },
    now,
  );
  const status = await d.operators.create(operator, [d.audit.putItem(entry)]);
  if (status === 'email_taken') return { status };
  const { passwordHash: _omit, ...visible } = operator;
  return { status: 'created', operator: visible };
}
