import { AuditLogPage } from '../../components/audit-log';

export default function AuditPage() {
  return (
    <AuditLogPage
      path="/account/audit"
      operator={false}
      title="Audit log"
      description="Who changed what in your account, newest first: keys created, revoked and rotated, limits and budgets, members, projects and scopes, and Tollgate's changes to your account. Owners only."
    />
  );
}
