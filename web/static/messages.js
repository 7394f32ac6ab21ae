/**
 * Sentences shown in more than one place, kept together so they say the same
 * thing everywhere.
 */

/** Shown wherever account features are hidden because multi-user mode is off. */
export const ACCOUNTS_OFF_HINT = 'Accounts are off: set enableUserAccounts: true in config.yaml to give each '
  + 'person their own login.';

/** Shown near password controls: what a password does and does not protect. */
export const PASSWORD_PRIVACY_NOTE = 'A password gives basic privacy, not protection of your data at rest: '
  + 'your data is kept as plain files on the server, and whoever runs the server (the admin) can read them.';
