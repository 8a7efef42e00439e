// The console's main journeys in headless Chromium against a real `shuqiao demo` on a temporary data dir:
// a cataloger imports and submits, the authority publishes, a consumer searches and applies, the provider
// approves, the consumer sees the grant, the auditor verifies the chain; and another department's data never
// appears. Screenshots of each main page go to tests-artifacts/screenshots/ (not committed).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const shots = join(root, 'tests-artifacts', 'screenshots');
const targetDir = process.env.CARGO_TARGET_DIR || join(process.env.HOME, '.cache', 'shuqiao-target');
const bin = process.env.SHUQIAO_BIN || join(targetDir, 'debug', 'shuqiao');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'Demo@2026';
const NAME = '浏览器旅程测试资源';

let server, base, browser, dataDir;

function startDemo() {
  return new Promise((ok, fail) => {
    dataDir = mkdtempSync(join(tmpdir(), 'shuqiao-browser-'));
    const child = spawn(bin, ['demo', '--listen', '127.0.0.1:0', '--data', dataDir], {
      env: { ...process.env, SHUQIAO_LOG: 'warn', SHUQIAO_ADMIN_PASSWORD: 'Admin@Test2026' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => fail(new Error(`shuqiao demo not ready in 120 s:\n${out}`)), 120_000);
    child.on('exit', (code) => fail(new Error(`shuqiao exited with ${code}:\n${out}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m && out.includes('就绪 ready')) {
        clearTimeout(timer);
        ok({ child, base: m[1].replace(/\/$/, '') });
      }
    });
  });
}

before(async () => {
  assert.ok(existsSync(chromiumPath), `Chromium is missing at ${chromiumPath}: apt-get install -y chromium`);
  assert.ok(existsSync(bin), `the shuqiao binary is missing at ${bin}: run cargo build first`);
  mkdirSync(shots, { recursive: true });
  ({ child: server, base } = await startDemo());
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A fresh browser context (its own cookies) logged in as `user`. */
async function as(user, viewport = { width: 1366, height: 768 }) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' });
  const page = await context.newPage();
  page.on('dialog', (d) => d.accept());
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/login\?next=/);
  await page.getByLabel('用户名').fill(user);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL(`${base}/`);
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function flash(page) {
  return (await page.locator('.flash').first().textContent()).trim();
}

function entry(name) {
  return {
    code: '301001', class: { lei: 3, xiang: 1, mu: 1, ximu: null }, name,
    summary: `${name}，用于浏览器端到端测试的信息资源。`,
    format: { category: '数据库', type: 'PostgreSQL' },
    items: [
      { name: '统一社会信用代码', data_type: 'C', length: 18, basic: false, share_type: null, grade: '一般' },
      { name: '企业名称', data_type: 'C', length: 200, basic: false, share_type: null, grade: null },
    ],
    share: { type: 'conditional', condition: '仅限行政审批业务使用', legal_basis: null, modes: ['query', 'verify'] },
    open: { open: false, condition: null }, update_cycle: 'daily', related: [], secret: false,
  };
}

let resourceCode;
let applicationUrl;

test('a cataloger imports (errors reported by row first) and submits', async () => {
  const page = await as('gat_catalog');
  await shot(page, '01-home-cataloger');
  await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '导入目录' }).click();
  const template = page.waitForEvent('download');
  await page.getByRole('link', { name: '下载 Excel 模板' }).click();
  assert.match((await template).suggestedFilename(), /\.xlsx$/);

  const dir = mkdtempSync(join(tmpdir(), 'shuqiao-import-'));
  const bad = entry('');
  bad.items[0].data_type = 'X';
  writeFileSync(join(dir, 'bad.json'), JSON.stringify([entry('合格的资源'), bad]));
  await page.getByLabel('文件（xlsx、csv 或 json）').setInputFiles(join(dir, 'bad.json'));
  await page.getByRole('button', { name: '导入', exact: true }).click();
  const rows = page.locator('#import-errors tbody tr');
  assert.ok((await rows.count()) >= 2, 'every problem is listed');
  await shot(page, '02-import-errors');

  writeFileSync(join(dir, 'good.json'), JSON.stringify([entry(NAME)]));
  await page.getByLabel('文件（xlsx、csv 或 json）').setInputFiles(join(dir, 'good.json'));
  await page.getByRole('button', { name: '导入', exact: true }).click();
  assert.match(await flash(page), /导入成功，新增草稿条数： 1/);
  await page.getByRole('link', { name: NAME }).first().click();
  resourceCode = page.url().split('/catalog/')[1];
  assert.match(resourceCode, /^301001\/\d{6}$/);
  await page.getByRole('button', { name: '提交审核' }).click();
  assert.equal(await flash(page), '已提交审核');
  await shot(page, '03-entry-submitted');
  await page.goto(`${base}/catalog/303001/000001/mount`);
  await page.getByRole('button', { name: '保存挂接' }).click();
  assert.ok(await page.locator('#mount-node-error').isVisible(), 'mount errors are at their fields');
  await shot(page, '03b-mount-errors');
  rmSync(dir, { recursive: true, force: true });
});

test('the authority publishes from its inbox', async () => {
  const page = await as('authority');
  await page.getByRole('link', { name: NAME }).click();
  await page.getByRole('button', { name: '审核发布' }).click();
  assert.equal(await flash(page), '已发布');
  await shot(page, '04-entry-published');
  await page.goto(`${base}/monitor`);
  assert.equal(await page.locator('.chart svg').count(), 6);
  // Exchange volume is among them, as an accessible image.
  assert.equal(await page.getByRole('img', { name: '数据访问量（近30天，按使用部门）' }).count(), 1);
  await shot(page, '05-monitor-charts');
});

test('a consumer searches in Chinese, sees highlights and facets, and applies with the deadline shown', async () => {
  const page = await as('scjg_user');
  await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '目录检索' }).click();
  await page.getByRole('searchbox').fill('企业 登记');
  await page.getByRole('button', { name: '检索' }).click();
  assert.ok((await page.locator('.hits mark').count()) > 0, 'matched words are highlighted');
  assert.ok((await page.locator('.facets h3').count()) >= 4, 'facets are shown');
  await shot(page, '06-catalog-search');
  await page.getByRole('searchbox').fill('浏览器旅程测试');
  await page.getByRole('button', { name: '检索' }).click();
  await page.locator('.hits a.name').first().click();
  assert.ok(page.url().endsWith(`/catalog/${resourceCode}`));
  await shot(page, '07-entry-detail');
  await page.getByRole('link', { name: '申请使用' }).click();
  assert.match(await page.locator('#deadline').textContent(), /\d{4}年\d{1,2}月\d{1,2}日/);
  await shot(page, '08-apply-form');
  // Submitted without a purpose: the error is at its field and the input is kept.
  await page.getByLabel('依据（法定职责或业务事项）').fill('《市场主体登记管理条例》第十七条');
  await page.getByRole('button', { name: '提交申请' }).click();
  assert.ok(await page.locator('#purpose_kind-error').isVisible());
  assert.equal(await page.getByLabel('依据（法定职责或业务事项）').inputValue(), '《市场主体登记管理条例》第十七条');
  await page.getByLabel('用途类别').selectOption('administrative_basis');
  await page.getByLabel('用途说明').fill('企业开办审批中核验企业信息');
  await page.getByRole('button', { name: '提交申请' }).click();
  assert.equal(await flash(page), '申请已提交');
  applicationUrl = page.url();
  await shot(page, '09-application-submitted');
});

test('the provider reviewer approves with masking; the consumer sees the grant', async () => {
  const review = await as('gat_review');
  await shot(review, '10-home-reviewer-inbox');
  await review.locator(`a[href="${new URL(applicationUrl).pathname}"]`).first().click();
  await review.getByLabel('脱敏规则 企业名称').selectOption('hash');
  await review.getByRole('button', { name: '同意' }).click();
  assert.equal(await flash(review), '已同意，授权已生成');
  await shot(review, '11-application-approved');

  const user = await as('scjg_user');
  await user.goto(`${base}/grants?as=consumer`);
  assert.ok((await user.getByRole('link', { name: new RegExp(NAME) }).count()) >= 1);
  await shot(user, '12-grants-consumer');
});

test('the auditor reads the log and verifies the chain', async () => {
  const page = await as('auditor');
  await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '审计' }).click();
  assert.ok((await page.locator('tbody tr').count()) > 0);
  await shot(page, '13-audit-log');
  await page.getByRole('link', { name: '验证审计链' }).first().click();
  assert.match(await page.locator('#verify-result').textContent(), /审计链完整/);
  await shot(page, '14-audit-verify');
});

test("another department's data never appears", async () => {
  const page = await as('rst_user');
  await page.goto(`${base}/applications`);
  assert.equal(await page.getByText(NAME).count(), 0);
  await page.goto(`${base}/grants`);
  assert.equal(await page.getByText(NAME).count(), 0);
  const resp = await page.goto(applicationUrl);
  assert.equal(resp.status(), 404);
  assert.match(await page.locator('h1').textContent(), /页面不存在/);
  await shot(page, '15-not-found');
});

test('a consumer raises a demand; the authority routes it', async () => {
  const user = await as('scjg_user');
  await user.goto(`${base}/demands`);
  await user.getByRole('link', { name: '提出数据需求' }).click();
  await user.getByRole('button', { name: '提交需求' }).click();
  assert.ok(await user.locator('#d-description-error').isVisible(), 'the error is at its field');
  await user.getByLabel('需求描述').fill('需要全省企业用电量月度数据，用于经济运行监测');
  await user.getByLabel('用途类别').selectOption('work_reference');
  await user.getByLabel('用途说明').fill('经济运行分析');
  await user.getByRole('button', { name: '提交需求' }).click();
  assert.equal(await flash(user), '需求已提交');
  const demandUrl = user.url();
  const authority = await as('authority');
  await authority.goto(demandUrl);
  await authority.getByLabel('部门').selectOption({ label: '河北省公安厅' });
  await authority.getByRole('button', { name: '分派' }).click();
  assert.equal(await flash(authority), '已办理');
  await shot(authority, '18-demand-routed');
});

test('a department administrator sees users and creates an API client whose token is shown once', async () => {
  const page = await as('gat_admin');
  await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '用户' }).click();
  assert.ok((await page.getByRole('cell', { name: 'gat_catalog' }).count()) === 1);
  assert.equal(await page.getByRole('cell', { name: 'scjg_user' }).count(), 0, 'only its own department');
  await shot(page, '19-admin-users');
  await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '接口客户端' }).click();
  await page.getByText('创建接口客户端').first().click();
  await page.getByLabel('名称').fill('户籍核验系统');
  await page.getByRole('button', { name: '创建' }).click();
  assert.match(await page.locator('#secret code').textContent(), /^sqc_/);
  await shot(page, '20-admin-client-token');
  await page.goto(`${base}/admin/clients`);
  assert.equal(await page.locator('#secret').count(), 0, 'the token is not shown again');
  assert.equal(await page.getByRole('cell', { name: '户籍核验系统' }).count(), 1);
});

test('English switch, phone width, and the login page', async () => {
  const page = await as('scjg_user', { width: 375, height: 812 });
  await page.goto(`${base}/catalog?q=%E4%BC%81%E4%B8%9A`);
  await shot(page, '16-search-phone');
  await page.getByRole('link', { name: 'English' }).click();
  assert.equal(await page.locator('h1').textContent(), 'Catalog search');
  await page.goto(`${base}/`);
  assert.match(await page.locator('h2').nth(1).textContent(), /Waiting for you/);
  await shot(page, '17-home-english');
  const anon = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  await anon.goto(`${base}/login`);
  await shot(anon, '00-login');
});
