// @ts-check
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

/** The browser's note of a sign-up that waits for approval (set by the
 * sign-up page, read and cleared by the login page). */
export const PENDING_SIGNUP_KEY = 'innkeeper.pendingSignup';
