// Opens an HTML report of `leakshim report --format html` in headless Chromium (the system's,
// driven by playwright-core from build/node) and prints, as one JSON object, what a person
// would see and what the page did: console errors, every network request, the suspects
// table, the flame graph before and after a search, a zoom and the allocated toggle, the
// expanded top suspect's source lines, the time line's marks and alerts. test_html.py makes
// the assertions; this script only looks.
//
// usage: node html_browser.mjs '{"report": PATH, "screenshot": PATH, "function": NAME,
//                                "chromium": PATH, "interactions": true}'
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'build', 'node', 'package.json'));
const { chromium } = require('playwright-core');

const args = JSON.parse(process.argv[2]);
const url = pathToFileURL(args.report).href;
const facts = { consoleErrors: [], requests: [], pageErrors: [] };

const browser = await chromium.launch({ executablePath: args.chromium, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') facts.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => facts.pageErrors.push(String(e)));
  page.on('request', (r) => facts.requests.push(r.url()));

  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load', timeout: 60000 });
  await page.waitForFunction(() => document.documentElement.dataset.renderMs !== undefined, null, { timeout: 60000 });
  facts.loadMs = Date.now() - t0;
  facts.renderMs = Number(await page.evaluate(() => document.documentElement.dataset.renderMs));

  facts.title = await page.title();
  facts.summary = await page.locator('#summary').innerText();
  facts.warnings = await page.locator('#warnings').innerText();
  facts.pageInfo = await page.locator('#page-info').innerText();
  facts.tableRows = await page.locator('#suspects tbody tr.suspect').count();
  facts.tableText = await page.locator('#suspects tbody').innerText();
  if (facts.tableRows) {
    const firstFn = page.locator('#suspects tbody tr.suspect').first().locator('td.fn');
    facts.firstRowFunction = await firstFn.innerText();
    facts.firstRowFunctionVisible = await firstFn.isVisible();
    facts.firstRowCells = await page.locator('#suspects tbody tr.suspect').first().locator('td').allInnerTexts();
  }

  const flameNodes = () => page.evaluate(() => document.querySelectorAll('#flame g.node').length);
  const named = (name) => page.evaluate((n) =>
    Array.from(document.querySelectorAll('#flame g.node')).filter((g) => g.dataset.name === n).map((g) => ({
      match: g.classList.contains('match'),
      width: Number(g.querySelector('rect').getAttribute('width')),
      visible: g.getBoundingClientRect().width > 0,
    })), name);
  facts.flameNodeCount = await flameNodes();
  facts.flameWidth = await page.evaluate(() => Number(document.getElementById('flame').viewBox.baseVal.width));
  facts.flameNamed = await named(args.function);

  facts.timeline = await page.evaluate(() => ({
    livePoints: (document.querySelector('#timeline polyline.live')?.getAttribute('points') || '').split(' ').filter(Boolean).length,
    rss: !!document.querySelector('#timeline polyline.rss'),
    marks: Array.from(document.querySelectorAll('#timeline g.mark text')).map((t) => t.textContent),
    alerts: Array.from(document.querySelectorAll('#timeline g.alert text')).map((t) => t.textContent),
  }));

  facts.flameText = await page.evaluate(() => Array.from(document.querySelectorAll('#flame > text')).map((t) => t.textContent));
  if (args.interactions && facts.flameNamed.length && facts.tableRows) {
    // search: the frames named like the function are highlighted, nothing else is
    await page.fill('#search', args.function);
    facts.searchNamed = await named(args.function);
    facts.searchMatches = await page.evaluate(() =>
      Array.from(document.querySelectorAll('#flame g.node.match')).map((g) => g.dataset.name));
    facts.searchStatus = await page.locator('#flame-status').innerText();
    facts.matchColor = await page.evaluate((n) => {
      const g = Array.from(document.querySelectorAll('#flame g.node')).find((x) => x.dataset.name === n);
      return g ? getComputedStyle(g.querySelector('rect')).fill : null;
    }, args.function);

    // zoom into the function's frame, then back out through the root
    await page.locator('#flame g.node').filter({ has: page.locator('title', { hasText: args.function }) })
      .first().click();
    facts.zoomedNamed = await named(args.function);
    await page.locator('#flame g.node[data-name="all"]').click();
    facts.unzoomedNamed = await named(args.function);
    facts.unzoomedNodeCount = await flameNodes();

    // allocated bytes
    await page.check('input[name=flame-value][value=allocated]');
    facts.allocatedNames = await page.evaluate(() =>
      Array.from(document.querySelectorAll('#flame g.node')).map((g) => g.dataset.name));
    await page.check('input[name=flame-value][value=leaked]');
    await page.fill('#search', '');

    // expand the top suspect: its stack and source lines
    await page.locator('#suspects tbody tr.suspect').first().click();
    facts.details = await page.evaluate(() => {
      const d = document.querySelector('#suspects tbody tr.details');
      if (!d) return null;
      const hit = d.querySelector('details[open] pre.source span.hit');
      return {
        frames: Array.from(d.querySelectorAll('ol.stack .fn')).map((e) => e.textContent),
        locations: Array.from(d.querySelectorAll('ol.stack .loc')).map((e) => e.textContent),
        hitLine: hit ? hit.textContent : null,
        hitVisible: hit ? hit.getBoundingClientRect().height > 0 : false,
      };
    });
    // paging
    facts.nextDisabled = await page.locator('#next').isDisabled();
  }
  if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true });
  if (args.pageTwo) {
    await page.click('#next');
    facts.pageTwoInfo = await page.locator('#page-info').innerText();
    facts.pageTwoFirstRank = await page.locator('#suspects tbody tr.suspect').first().locator('td').first().innerText();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(facts) + '\n');
