/** One entry of ARM's `.../providers/Microsoft.Authorization/permissions` answer. */
export interface PermissionSet {
  actions?: string[];
  notActions?: string[];
}

export const ROLE_ASSIGNMENT_WRITE = 'Microsoft.Authorization/roleAssignments/write';
export const ROLE_DEFINITION_WRITE = 'Microsoft.Authorization/roleDefinitions/write';
export const ROLE_ASSIGNMENT_DELETE = 'Microsoft.Authorization/roleAssignments/delete';

/**
 * Whether the effective permissions allow `action`. A set grants it when one of its actions matches
 * and none of its notActions does; sets are unioned (Azure RBAC "How Azure RBAC determines if a user
 * has access"). Matching is case-insensitive and `*` stands for any run of characters.
 */
export function allows(permissions: PermissionSet[], action: string): boolean {
  return permissions.some((set) => (set.actions ?? []).some((p) => matches(p, action)) && !(set.notActions ?? []).some((p) => matches(p, action)));
}

function matches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i');
  return regex.test(action);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
}
