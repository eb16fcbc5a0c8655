import { AuditLogPage } from '../../components/audit-log';

export default function AuditPage() {
  return (
    <AuditLogPage
      path="/admin/audit"
      operator
      title="Audit log"
      description="Every change, newest first: operators', the platform's and tenants' own (keys, members, limits, money settings); who, what, when, and the values before and after."
    />
  );
}
