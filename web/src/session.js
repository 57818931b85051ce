// The signed-in user on every page (issue #14): each page asks `/api/auth/me` before it starts
// (not signed in: to the login page, see api.js), shows who is signed in — name, role, scope —
// with a 退出 button, and reads the name where a form says who acts (修改人, 确认人).

import { currentUser, logout, LOGIN_PAGE } from './api.js';
import { el, fill } from './dom.js';
import './session.css';

/** The roles' names, as the demo accounts' `role_name` spells them. */
export const ROLE_NAMES = {
  admin: '市级管理员',
  leader: '领导',
  grid_worker: '网格员',
  analyst: '分析员',
  screen: '大屏',
};

/** 市级管理员 for `admin`; an unknown role as is. */
export function roleName(role) {
  return ROLE_NAMES[role] || role || '—';
}

let signedIn = null;

/** The user `requireUser` found (null before). */
export function sessionUser() {
  return signedIn;
}

/**
 * The signed-in user (`{name, role, scope, scope_name, may_see_personal}`). Not signed in: the
 * page goes to the login page and this never settles, so nothing after it runs.
 */
export async function requireUser() {
  const { user } = await currentUser();
  signedIn = user;
  return user;
}

/** Signs out (POST /api/auth/logout) and goes to the login page, whatever the answer. */
export async function signOut() {
  try {
    await logout();
  } catch {
    // already signed out, or the server is away: the login page says what is next
  }
  window.location.assign(LOGIN_PAGE);
}

/**
 * The user box: name, role and scope, and 退出. `user` null: the box is left empty.
 * `node` gets `data-role` and `data-scope` for styles and tests.
 */
export function renderUserBox(node, user) {
  if (!node) return;
  if (!user) {
    fill(node);
    return;
  }
  node.dataset.role = user.role || '';
  node.dataset.scope = user.scope || '';
  const scope = user.scope_name || user.scope || '';
  node.title = `${user.name} · ${user.role_name || roleName(user.role)} · ${scope}`;
  fill(
    node,
    el('span', { class: 'user-name', 'data-field': 'user-name' }, user.name),
    el('span', { class: 'user-role', 'data-field': 'user-role' }, user.role_name || roleName(user.role)),
    scope ? el('span', { class: 'user-scope', 'data-field': 'user-scope' }, scope) : null,
    el(
      'button',
      {
        type: 'button',
        class: 'user-logout',
        'data-action': 'logout',
        title: '退出登录',
        onclick: (e) => {
          e.currentTarget.disabled = true;
          signOut();
        },
      },
      '退出',
    ),
  );
  node.hidden = false;
}
