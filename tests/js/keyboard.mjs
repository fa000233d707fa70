// A keyboard-only visit of a built portal in headless Chromium, with real
// key events (no clicks, no element.focus()): from the home page, Tab to the
// search box, search, Tab to the first result and open it with Enter; on the
// report, switch elder mode and the 字号 buttons with the keyboard.
// Every element Tab reaches must show a visible focus indicator.
//
// Usage: node tests/js/keyboard.mjs CHROMIUM OUT_DIR QUERY EXPECTED_TITLE
// Exits 1 with what went wrong; prints the path it took.
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [browserPath, out, query, expectedTitle] = process.argv.slice(2);
const steps = [];
const fail = (message) => {
  console.error(`keyboard test failed: ${message}\npath taken:\n  ${steps.join("\n  ")}`);
  process.exit(1);
};

const browser = await chromium.launch({
  executablePath: browserPath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.on("pageerror", (e) => fail(`script error on ${page.url()}: ${e.message}`));

// What has focus, and whether it is visibly marked (WCAG 2.4.7).
const focused = () =>
  page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const visible =
      (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) ||
      style.boxShadow !== "none" ||
      el.matches(".skip-link");
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      text: (el.textContent || el.getAttribute("aria-label") || el.value || "").trim().slice(0, 40),
      action: el.getAttribute("data-action") || el.getAttribute("data-font-size") || "",
      href: el.getAttribute("href") || "",
      inResults: !!el.closest("#search-results, .search-results"),
      visible,
    };
  });

// Presses Tab until `wanted` holds for the focused element.
async function tabTo(what, wanted, limit = 80) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press("Tab");
    const f = await focused();
    if (!f) continue;
    steps.push(`Tab → <${f.tag}${f.id ? "#" + f.id : ""}> ${f.text}`);
    if (!f.visible) fail(`<${f.tag}> “${f.text}” has focus but no visible focus indicator`);
    if (wanted(f)) return f;
  }
  fail(`${what} not reached with ${limit} presses of Tab`);
}

// 1. Home page: the first Tab reaches the skip link.
await page.goto(pathToFileURL(join(out, "index.html")).href);
await page.keyboard.press("Tab");
const first = await focused();
if (!first || !first.href.endsWith("#main")) fail(`the first Tab stop is not the skip link: ${JSON.stringify(first)}`);
steps.push(`Tab → skip link “${first.text}”`);

// 2. The search box; type and submit with Enter.
await tabTo("the search box", (f) => f.id === "site-search-q");
await page.keyboard.type(query);
steps.push(`type “${query}”, Enter`);
await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
if (!decodeURIComponent(page.url()).includes(`q=${query}`)) fail(`Enter did not open the search page: ${page.url()}`);
await page.waitForFunction(() => document.querySelector("#search-results a, .search-results a"), null, { timeout: 10000 })
  .catch(() => fail("no results appeared"));

// 3. The first result, opened with Enter.
const result = await tabTo("a search result", (f) => f.tag === "a" && f.inResults);
await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
steps.push(`Enter → ${page.url()}`);
const title = await page.evaluate(() => document.querySelector("h1")?.textContent.trim());
if (title !== expectedTitle) fail(`the result “${result.text}” opened “${title}”, not “${expectedTitle}”`);

// 4. Elder mode, switched with Space, remembered on the next page.
await tabTo("the elder-mode switch", (f) => f.action === "elder");
await page.keyboard.press("Space");
const elder = await page.evaluate(() => ({
  on: document.documentElement.classList.contains("elder"),
  pressed: document.querySelector("[data-action=elder]").getAttribute("aria-pressed"),
  size: parseFloat(getComputedStyle(document.querySelector(".report-body p, main p") || document.body).fontSize),
}));
steps.push(`Space → elder mode ${JSON.stringify(elder)}`);
if (!elder.on || elder.pressed !== "true") fail("Space on the switch did not turn elder mode on");
if (elder.size < 24) fail(`elder mode body text is ${elder.size}px, under 18 pt`);

// 5. The 字号 buttons: 大 with Enter makes the text larger than 小.
const size = () => page.evaluate(() => parseFloat(getComputedStyle(document.querySelector(".report-body p, main p")).fontSize));
await tabTo("the 字号 小 button", (f) => f.action === "small");
await page.keyboard.press("Enter");
const small = await size();
await page.keyboard.down("Shift");
await page.keyboard.press("Tab");
await page.keyboard.press("Tab");
await page.keyboard.up("Shift");
const large = await focused();
if (large?.action !== "large") fail(`Shift+Tab twice from 小 reached ${JSON.stringify(large)}, not 大`);
await page.keyboard.press("Enter");
const big = await size();
steps.push(`字号: 小 ${small}px, 大 ${big}px`);
if (!(big > small)) fail(`大 (${big}px) is not larger than 小 (${small}px)`);

// 6. Both settings are remembered on the next page, without a server.
await page.goto(pathToFileURL(join(out, "index.html")).href);
const kept = await page.evaluate(() => ({
  elder: document.documentElement.classList.contains("elder"),
  size: document.documentElement.getAttribute("data-font-size"),
}));
steps.push(`next page: ${JSON.stringify(kept)}`);
if (!kept.elder || kept.size !== "large") fail(`the next page forgot the settings: ${JSON.stringify(kept)}`);

await browser.close();
console.log(steps.join("\n"));
