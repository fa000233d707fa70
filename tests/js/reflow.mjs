// Reflow (WCAG 2.1 1.4.10): at 320 CSS px, in normal and elder mode, no
// page scrolls sideways. Wide tables may scroll inside their own box.
//
// Usage: node tests/js/reflow.mjs CHROMIUM OUT_DIR PAGE[?QUERY] ...
// Exits 1 listing every page that scrolls and the elements that stick out.
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [browserPath, out, ...pages] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: browserPath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const failures = [];
for (const elder of [false, true]) {
  const context = await browser.newContext({ viewport: { width: 320, height: 800 } });
  const page = await context.newPage();
  if (elder) {
    await page.goto(pathToFileURL(join(out, pages[0].split("?")[0])).href);
    await page.evaluate(() => localStorage.setItem("gazette-elder", "on"));
  }
  for (const spec of pages) {
    const [path, query] = spec.split("?");
    await page.goto(pathToFileURL(join(out, path)).href + (query ? "?" + query : ""));
    await page.waitForTimeout(300);
    const found = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const out = [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > width + 0.5 && !e.closest(".table-wrap, .visually-hidden"))
        .slice(0, 3)
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`);
      return { scroll: document.documentElement.scrollWidth, width, out, elder: document.documentElement.classList.contains("elder") };
    });
    if (found.scroll > found.width) failures.push(`${elder ? "elder" : "normal"} ${spec}: ${found.scroll} px wide; ${found.out.join(", ")}`);
    if (found.elder !== elder) failures.push(`${spec}: elder mode ${found.elder}, expected ${elder}`);
  }
  await context.close();
}
await browser.close();
if (failures.length) {
  console.error(`pages that scroll sideways at 320 px:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log(`${pages.length * 2} page views reflow at 320 px`);
