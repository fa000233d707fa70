// Tests of gazette-search.js, run with `node --test tests/js/` (the Rust
// integration test `the_browser_search_matches_the_reference_engine` runs
// them, with an index and the reference engine's answers).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runInThisContext } from "node:vm";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
runInThisContext(readFileSync(join(here, "../../themes/default/static/gazette-search.js"), "utf8"));
const G = globalThis.GazetteSearch;

test("the tokenizer gives the shared vectors", () => {
  const vectors = JSON.parse(readFileSync(join(here, "../search-vectors.json"), "utf8"));
  assert.ok(vectors.length >= 10);
  for (const v of vectors) {
    const pairs = (tokens) => tokens.map((t) => [t.term, t.pos]);
    assert.deepEqual(pairs(G.tokenize(v.text)), v.index, `index tokens of ${v.text}`);
    assert.deepEqual(pairs(G.tokenizeQuery(v.text)), v.query, `query tokens of ${v.text}`);
  }
});

test("queries split into phrases and words like the reference", () => {
  const segs = G.parseQuery('扫黑除恶 "annual report" transpar');
  assert.equal(segs.length, 3);
  assert.deepEqual(segs[0].tokens.map((t) => t.term), ["扫黑", "黑除", "除恶"]);
  assert.deepEqual(segs[1].tokens.map((t) => t.term), ["annual", "report"]);
  assert.equal(segs[2].prefix, true);
  assert.equal(G.parseQuery("report ")[0].prefix, false);
});

test("shard keys agree with the index writer", () => {
  assert.equal(G.shardKey("扫黑"), "扫");
  assert.equal(G.shardKey("transparency"), "tr");
  assert.equal(G.shardKey("t"), "t");
});

const dir = process.env.GAZETTE_SEARCH_DIR;
const expectFile = process.env.GAZETTE_SEARCH_EXPECT;
test("the browser engine answers as the reference engine does", { skip: !dir && "no index given" }, async () => {
  const cases = JSON.parse(readFileSync(expectFile, "utf8"));
  assert.ok(cases.length > 0);
  for (const c of cases) {
    G.reset();
    const index = new G.Index((name, failed) => {
      try {
        runInThisContext(readFileSync(join(dir, name + ".js"), "utf8"));
      } catch (e) {
        failed(e);
      }
    });
    const found = await index.search(c.query, c.filters, c.by_date);
    assert.deepEqual(found.map((r) => r.doc), c.docs, `query ${JSON.stringify(c.query)} ${JSON.stringify(c.filters)}`);
    if (!c.by_date && found.length) {
      // Scores agree to rounding.
      found.forEach((r, i) => assert.ok(Math.abs(r.score - c.scores[i]) < 1e-6, `score of ${c.query}`));
    }
    if (found.length) {
      const rows = await index.documents(found.slice(0, 3).map((r) => r.doc));
      rows.forEach((row, i) => assert.equal(row[1], c.titles[i]));
    }
  }
});
