// @ts-check
// Loaded into SillyTavern's page by Innkeeper (the app itself is not
// changed): puts a button to Innkeeper's own account and admin pages next
// to SillyTavern's Account, Admin Panel and Logout buttons (in the User
// Settings drawer). A classic script, not a module: SillyTavern's page
// loads it with `defer`, and it touches nothing of SillyTavern's own.
(function () {
  'use strict';
  function addButton() {
    if (document.getElementById('innkeeper_button')) return true;
    const controls = document.getElementById('account_controls');
    if (!controls) return false;
    const link = document.createElement('a');
    link.id = 'innkeeper_button';
    link.href = '/innkeeper/#account';
    link.className = 'margin0 menu_button_icon menu_button';
    link.title = 'Innkeeper: your account, password, backups and snapshots (and the admin pages for admins)';
    link.style.textDecoration = 'none';
    const icon = document.createElement('i');
    icon.className = 'fa-fw fa-solid fa-house-user';
    const label = document.createElement('span');
    label.textContent = 'Innkeeper';
    link.append(icon, label);
    controls.prepend(link);
    return true;
  }
  if (!addButton()) {
    const observer = new MutationObserver(() => {
      if (addButton()) observer.disconnect();
    });
    observer.observe(document.documentElement, { childList: true, subtree: true });
  }
})();
