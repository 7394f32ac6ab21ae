// @ts-check
/**
 * The audit log's action codes (as the server writes them) in words.
 * A code missing here is shown as it is, so a new server action never
 * disappears from the log.
 */

const WORDS = {
  '2fa.disable': 'Turned off two-factor login',
  '2fa.enable': 'Turned on two-factor login',
  '2fa.recovery-code-used': 'Logged in with a recovery code',
  '2fa.recovery-codes': 'Made new recovery codes',
  '2fa.remove': 'Removed two-factor login',
  'app.restart': 'Restarted SillyTavern',
  'app.stop': 'Stopped SillyTavern',
  'backup.full': 'Downloaded the full backup',
  'connection.change': 'Changed a shared connection',
  'connection.create': 'Created a shared connection',
  'connection.delete': 'Deleted a shared connection',
  'connection.grant': 'Shared a connection',
  'connection.revoke': 'Stopped sharing a connection',
  'import.sillytavern': 'Imported from SillyTavern',
  'login.auto': 'Logged in automatically',
  'login.failure': 'Login failed',
  'login.limited': 'Login refused: too many attempts',
  'login.sso': 'Logged in through single sign-on',
  'login.success': 'Logged in',
  logout: 'Logged out',
  'permission.denied': 'Refused: not allowed by the profile',
  'profile.change': 'Changed a permission profile',
  'profile.create': 'Created a permission profile',
  'profile.delete': 'Deleted a permission profile',
  'recovery.failure': 'Wrong recovery code',
  'recovery.limited': 'Recovery refused: too many attempts',
  'recovery.request': 'Asked for a recovery code',
  'recovery.success': 'Recovered the password',
  'reset.account': 'Erased all data and started again',
  'reset.request': 'Asked for a reset code',
  'settings.reset': 'Reset settings',
  'user.backup': 'Downloaded a backup',
  'user.change-avatar': 'Changed the picture',
  'user.change-name': 'Changed the name',
  'user.change-password': 'Changed the password',
  'user.clear-limits': 'Unlocked login attempts',
  'user.create': 'Created the account',
  'user.delete': 'Deleted the account',
  'user.demote': 'Made a regular user',
  'user.disable': 'Disabled the account',
  'user.enable': 'Enabled the account',
  'user.import': 'Imported the account',
  'user.permissions': 'Changed the permissions',
  'user.promote': 'Made an admin',
  'user.recover': 'Password set on the server console',
};

/** The action `code` in words (the code itself when it has none). */
export function auditActionWords(code) {
  return WORDS[code] ?? code ?? '';
}
