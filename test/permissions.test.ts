import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allows, ROLE_ASSIGNMENT_WRITE } from '../lib/domain/permissions.ts';

test('Owner (*) may assign roles', () => {
  assert.ok(allows([{ actions: ['*'] }], ROLE_ASSIGNMENT_WRITE));
});

test('Contributor may not: its notActions exclude Microsoft.Authorization/*/Write', () => {
  assert.not.ok(allows([{ actions: ['*'], notActions: ['Microsoft.Authorization/*/Delete', 'Microsoft.Authorization/*/Write'] }], ROLE_ASSIGNMENT_WRITE));
});

test('User Access Administrator may, through a provider wildcard, case-insensitively', () => {
  assert.ok(allows([{ actions: ['*/read', 'microsoft.authorization/*'] }], ROLE_ASSIGNMENT_WRITE));
});

test('Reader may not, and a second role can grant what the first lacks', () => {
  assert.not.ok(allows([{ actions: ['*/read'] }], ROLE_ASSIGNMENT_WRITE));
  assert.ok(allows([{ actions: ['*/read'] }, { actions: ['Microsoft.Authorization/roleAssignments/*'] }], ROLE_ASSIGNMENT_WRITE));
  assert.not.ok(allows([], ROLE_ASSIGNMENT_WRITE));
});

test('a dot in a pattern is literal', () => {
  assert.not.ok(allows([{ actions: ['Microsoft.AuthorizationXroleAssignments/write'] }], 'Microsoft.Authorization/roleAssignments/write'));
});

test.run();
