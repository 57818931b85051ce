// The login page (/login.html, issue #14): name and password to `POST /api/auth/login`, the
// server's message (in Chinese) on refusal, then on to `?next=` (a same-origin path only, see
// next.js). When the server runs in demo mode (`GET /api/auth/demo-accounts` answers 200) the
// demo accounts are listed, each with a button that fills the form.

import '../theme.css';
import '../page.css';
import './login.css';

import { demoAccounts, login } from '../api.js';
import { el, fill } from '../dom.js';
import { initTheme } from '../page.js';
import { roleName } from '../session.js';
import { safeNext } from './next.js';

const $ = (id) => document.getElementById(id);
const form = $('login-form');
const submit = $('login-submit');
const errorBox = $('login-error');

// For tests and people debugging in the console.
const page = { ready: false, demo: null };
window.onemapLogin = page;

initTheme();

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function nextPage() {
  return safeNext(new URLSearchParams(window.location.search).get('next'), window.location.origin);
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = form.elements.name.value.trim();
  const password = form.elements.password.value;
  if (!name || !password) {
    showError(!name ? '请输入用户名' : '请输入密码');
    (!name ? form.elements.name : form.elements.password).focus();
    return;
  }
  showError('');
  submit.disabled = true;
  submit.textContent = '正在登录…';
  try {
    await login(name, password);
    window.location.assign(nextPage());
  } catch (err) {
    // 401 login_failed, 429 too_many_attempts …: the server's own words.
    showError(err.message);
    submit.disabled = false;
    submit.textContent = '登录';
    form.elements.password.select();
  }
});

function fillForm(account) {
  form.elements.name.value = account.name;
  form.elements.password.value = account.password;
  showError('');
  submit.focus();
}

function renderDemo(accounts) {
  fill(
    $('demo-rows'),
    accounts.map((a) =>
      el(
        'tr',
        { dataset: { name: a.name } },
        el('td', { class: 'code', 'data-field': 'name' }, a.name),
        el('td', { class: 'code', 'data-field': 'password' }, a.password),
        el('td', { 'data-field': 'role' }, a.role_name || roleName(a.role)),
        el('td', { 'data-field': 'scope' }, a.scope_name || a.scope || '—'),
        el('td', {}, el('button', { type: 'button', class: 'btn small', 'data-action': 'fill', onclick: () => fillForm(a) }, '填入')),
      ),
    ),
  );
  $('demo-accounts').hidden = accounts.length === 0;
}

async function start() {
  try {
    const { accounts } = await demoAccounts();
    page.demo = Array.isArray(accounts) ? accounts : [];
    renderDemo(page.demo);
  } catch {
    // 404: not in demo mode (or the server is away; the form says so when used)
    page.demo = [];
  }
}

start().finally(() => {
  page.ready = true;
});
