// Gazette search: the browser half of src/search. It tokenizes exactly as
// the Rust tokenizer does (tests/search-vectors.json keeps the two equal),
// loads only the index files a query needs — as <script> elements, so it
// works from file://, over HTTP, under a sub-path and under
// Content-Security-Policy: script-src 'self' (no eval, no WebAssembly, no
// inline script) — and renders results with textContent only.
(function (root) {
  "use strict";

  // ---- Tokenizer (mirror of src/search/tokenize.rs) ----------------------
  function isCjk(cp) {
    return cp === 0x3005 || cp === 0x3007 ||
      (cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
      (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xac00 && cp <= 0xd7af) ||
      (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x2fa1f) ||
      (cp >= 0x30000 && cp <= 0x3134f);
  }
  var WORD = /[\p{Alphabetic}\p{N}]/u;
  // Zero width space, word joiner and BOM show as nothing: never a break.
  function normalize(text) { return text.normalize("NFKC").replace(/[\u200b\u2060\ufeff]/g, "").toLowerCase(); }

  function tokenizeWith(text, query) {
    var tokens = [], pos = 0, word = "", run = [], runStart = 0;
    function flushRun() {
      if (!run.length) return;
      if (!query || run.length === 1) {
        for (var i = 0; i < run.length; i++) tokens.push({ term: run[i], pos: runStart + i });
      }
      for (var j = 0; j + 1 < run.length; j++) tokens.push({ term: run[j] + run[j + 1], pos: runStart + j });
      run = [];
    }
    for (var c of normalize(text)) {
      var cp = c.codePointAt(0);
      if (isCjk(cp)) {
        if (word) { tokens.push({ term: word, pos: pos }); word = ""; pos++; }
        if (!run.length) runStart = pos;
        run.push(c);
        pos++;
      } else if (WORD.test(c)) {
        flushRun();
        word += c;
      } else {
        flushRun();
        if (word) { tokens.push({ term: word, pos: pos }); word = ""; pos++; }
        pos++;
      }
    }
    flushRun();
    if (word) tokens.push({ term: word, pos: pos });
    tokens.sort(function (a, b) { return a.pos - b.pos || [...a.term].length - [...b.term].length; });
    return tokens;
  }
  function tokenize(text) { return tokenizeWith(text, false); }
  function tokenizeQuery(text) { return tokenizeWith(text, true); }
  function isWordToken(term) { return term.length > 0 && !isCjk(term.codePointAt(0)); }
  function shardKey(term) {
    var chars = [...term];
    if (!chars.length) return "";
    if (isCjk(chars[0].codePointAt(0))) return chars[0];
    return chars.slice(0, 2).join("");
  }
  // The text a term is kept with (search::phrase_group): a phrase term of
  // four CJK characters by its first three, so that the phrase terms that
  // begin with three characters share a part with the term of those three.
  function phraseGroup(term) {
    var chars = [...term];
    if (chars.length === 4 && chars.every(function (c) { return isCjk(c.codePointAt(0)); })) return chars.slice(0, 3).join("");
    return term;
  }
  function bucket(key, buckets) {
    var bytes = new TextEncoder().encode(key), h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 16777619) >>> 0; }
    return h % buckets;
  }

  // ---- Query parsing (mirror of search::parse_query) ----------------------
  function parseQuery(query) {
    var segments = [];
    query.split('"').forEach(function (part, i) {
      if (i % 2 === 1) segments.push({ tokens: tokenizeQuery(part), prefix: false });
      else part.split(/\s+/u).filter(Boolean).forEach(function (w) { segments.push({ tokens: tokenizeQuery(w), prefix: false }); });
    });
    segments = segments.filter(function (s) { return s.tokens.length > 0; });
    var endsOpen = !/"\s*$/u.test(query) && !/\s$/u.test(query);
    var last = segments[segments.length - 1];
    if (endsOpen && last && last.tokens.length === 1 && isWordToken(last.tokens[0].term)) last.prefix = true;
    return segments;
  }

  // ---- Loading index files ------------------------------------------------
  var loaded = {}, waiting = {};
  function add(name, data) {
    loaded[name] = data;
    (waiting[name] || []).forEach(function (w) { w.resolve(data); });
    delete waiting[name];
  }
  // `fetchScript(name)` makes the file arrive through add(); the page
  // uses a <script> element, the tests read the file.
  function Index(fetchScript) {
    this.fetchScript = fetchScript;
    this.files = [];
  }
  Index.prototype.load = function (name) {
    if (Object.prototype.hasOwnProperty.call(loaded, name)) return Promise.resolve(loaded[name]);
    var self = this;
    return new Promise(function (resolve, reject) {
      var first = !waiting[name];
      (waiting[name] = waiting[name] || []).push({ resolve: resolve, reject: reject });
      if (first) {
        self.files.push(name);
        self.fetchScript(name, function (error) {
          (waiting[name] || []).forEach(function (w) { w.reject(error); });
          delete waiting[name];
        });
      }
    });
  };
  Index.prototype.meta = function () { return this.load("meta"); };
  // The [term shard, position shard] names of every part of a key.
  Index.prototype.parts = function (key) {
    var self = this;
    return this.meta().then(function (meta) {
      return self.load(meta.buckets[bucket(key, meta.buckets.length)]);
    }).then(function (dir) { return dir[key] || []; });
  };
  // The term (or position) shard that holds `term`: a common key is split
  // into parts by a hash of the term, of its first three characters for
  // a phrase term of four (search::shards::term_part).
  Index.prototype.shard = function (term, positions) {
    var self = this;
    return this.parts(shardKey(term)).then(function (parts) {
      var name = parts.length ? parts[bucket(phraseGroup(term), parts.length)][positions ? 1 : 0] : "";
      return name ? self.load(name) : {};
    });
  };
  function undelta(list) { var v = 0; return list.map(function (d) { v += d; return v; }); }
  // Numbers as the index writes them (shards::push_numbers): five bits a
  // digit, lowest first; a digit of 32 or more has more to come.
  var DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_", VALUE = [];
  for (var digit = 0; digit < 64; digit++) VALUE[DIGITS.charCodeAt(digit)] = digit;
  function numbers(text) {
    var out = [], n = 0, scale = 1;
    for (var i = 0; i < text.length; i++) {
      var v = VALUE[text.charCodeAt(i)];
      if (v >= 32) { n += (v - 32) * scale; scale *= 32; } else { out.push(n + v * scale); n = 0; scale = 1; }
    }
    return out;
  }

  // A term shard's entry: documents|frequencies[|own position file].
  function decodeEntry(entry) {
    var parts = entry.split("|");
    return { docs: undelta(numbers(parts[0])), frequencies: numbers(parts[1]), positionFile: parts[2] };
  }

  // postings of a term: [{doc, frequency}] (and positions when asked)
  // A term's positions are in its own file (named in its entry) when it
  // has many, else in the position shard of its group.
  Index.prototype.postings = function (term, positions) {
    var self = this;
    return this.shard(term, false).then(function (shard) {
      var entry = shard[term];
      if (!entry) return [];
      var decoded = decodeEntry(entry), docs = decoded.docs, frequencies = decoded.frequencies;
      var where = !positions ? Promise.resolve(null) : decoded.positionFile ? self.load(decoded.positionFile) : self.shard(term, true);
      return where.then(function (file) {
        var pos = file && file[term] !== undefined ? file[term].split(";") : null;
        return docs.map(function (d, i) { return { doc: d, frequency: frequencies[i], positions: pos ? undelta(numbers(pos[i])) : null }; });
      });
    });
  };
  // every indexed term that starts with `prefix`
  Index.prototype.expand = function (token, prefix) {
    if (!prefix) return Promise.resolve([token.term]);
    var self = this;
    return this.parts(shardKey(token.term)).then(function (parts) {
      return Promise.all(parts.map(function (p) { return self.load(p[0]); }));
    }).then(function (shards) {
      var terms = [];
      shards.forEach(function (shard) {
        Object.keys(shard).forEach(function (t) { if (t.indexOf(token.term) === 0) terms.push(t); });
      });
      return terms.sort();
    });
  };

  // ---- Phrases (mirror of search::phrase_term and covering_tokens) -------
  function isCjkBigram(term) {
    var chars = [...term];
    return chars.length === 2 && isCjk(chars[0].codePointAt(0)) && isCjk(chars[1].codePointAt(0));
  }
  // A run of three or four CJK characters is one query term (three are
  // found as the phrase terms that begin with them).
  function phraseTerm(tokens) {
    if (tokens.length < 2 || tokens.length > 3) return null;
    var phrase = "";
    for (var i = 0; i < tokens.length; i++) {
      if (!isCjkBigram(tokens[i].term) || tokens[i].pos !== tokens[0].pos + i) return null;
      var chars = [...tokens[i].term];
      phrase += i === 0 ? chars[0] + chars[1] : chars[1];
    }
    return phrase;
  }
  // The fewest tokens, from the left, that cover every position of a phrase.
  function coveringTokens(tokens) {
    function last(t) { return t.pos + (!isWordToken(t.term) && [...t.term].length > 1 ? 1 : 0); }
    var end = Math.max.apply(null, tokens.map(last)), need = tokens[0].pos, chosen = [];
    while (need <= end) {
      var best = null;
      tokens.forEach(function (t) { if (t.pos <= need && last(t) >= need && (!best || last(t) > last(best))) best = t; });
      if (best) { chosen.push(best); need = last(best) + 1; continue; }
      var next = tokens.map(function (t) { return t.pos; }).filter(function (p) { return p > need; });
      if (!next.length) break;
      need = Math.min.apply(null, next);
    }
    return chosen;
  }

  // Each document's length class (meta.lengths names the file: the
  // classes, and each document's as an index of them), decoded once.
  var lengthsOf = { name: null, lengths: null };
  Index.prototype.lengths = function () {
    var self = this;
    return this.meta().then(function (meta) {
      if (lengthsOf.name === meta.lengths) return lengthsOf.lengths;
      return self.load(meta.lengths).then(function (data) {
        var lengths = numbers(data.docs).map(function (i) { return data.classes[i]; });
        lengthsOf = { name: meta.lengths, lengths: lengths };
        return lengths;
      });
    });
  };

  // BM25 (mirror of search::builder::bm25_weight and SearchIndex::score):
  // the term-frequency part × 1000 from the frequency and the document's
  // length class, rounded, in the same order of operations as the
  // reference engine, so that both rank alike.
  var K1 = 1.2, B = 0.75;
  function bm25(meta, df, frequency, len) {
    var n = meta.docs;
    var weight = Math.round(1000 * frequency * (K1 + 1) / (frequency + K1 * (1 - B + B * len / meta.avg)));
    return Math.log((n - df + 0.5) / (df + 0.5) + 1) * weight / 1000;
  }

  // The documents of a phrase of three CJK characters (mirror of
  // SearchIndex::match_phrase_group): the terms that begin with it, its own
  // and those of four, in the one shard they share, their frequencies
  // added up per document.
  Index.prototype.phraseGroupPostings = function (three) {
    return this.shard(three, false).then(function (shard) {
      var frequency = new Map();
      Object.keys(shard).forEach(function (term) {
        var n = [...term].length;
        if (term.indexOf(three) !== 0 || n < 3 || n > 4) return;
        var decoded = decodeEntry(shard[term]);
        decoded.docs.forEach(function (d, i) { frequency.set(d, (frequency.get(d) || 0) + decoded.frequencies[i]); });
      });
      return [...frequency.keys()].sort(function (a, b) { return a - b; }).map(function (d) {
        return { doc: d, frequency: frequency.get(d), positions: null };
      });
    });
  };

  // The documents of any of `lists` (postings of one term each), each
  // posting given its list's document frequency.
  function anyOf(lists) {
    var out = new Map();
    lists.forEach(function (list) {
      list.forEach(function (p) { out.set(p.doc, 0); p.df = list.length; });
    });
    return { docs: out, lists: lists };
  }

  Index.prototype.matchSegment = function (segment) {
    var self = this, phrase = phraseTerm(segment.tokens);
    if (phrase && [...phrase].length === 3) {
      return this.phraseGroupPostings(phrase).then(function (list) { return anyOf([list]); });
    }
    if (phrase) return this.matchSegment({ tokens: [{ term: phrase, pos: 0 }], prefix: false });
    if (segment.tokens.length === 1) {
      return this.expand(segment.tokens[0], segment.prefix).then(function (terms) {
        return Promise.all(terms.map(function (t) { return self.postings(t, false); }));
      }).then(anyOf);
    }
    var tokens = coveringTokens(segment.tokens);
    return Promise.all(tokens.map(function (t) { return self.postings(t.term, true); })).then(function (lists) {
      var maps = lists.map(function (l) { var m = new Map(); l.forEach(function (p) { m.set(p.doc, p); }); return m; });
      var base = tokens[0].pos, out = new Map();
      var shortest = maps.reduce(function (best, m, i) { return m.size < maps[best].size ? i : best; }, 0);
      maps[shortest].forEach(function (_, doc) {
        var ps = maps.map(function (m) { return m.get(doc); });
        if (ps.some(function (p) { return !p; })) return;
        var sets = ps.map(function (p) { return new Set(p.positions); });
        var found = ps[0].positions.some(function (start) {
          return tokens.every(function (t, i) { return i === 0 || sets[i].has(start + t.pos - base); });
        });
        if (found) out.set(doc, 0);
      });
      lists.forEach(function (l) { l.forEach(function (p) { p.df = l.length; }); });
      return { docs: out, lists: lists, phrase: true };
    });
  };

  // filters: {facet: [values]}; byDate: newest first instead of relevance
  Index.prototype.search = function (query, filters, byDate) {
    var self = this, segments = parseQuery(query);
    if (!segments.length) return Promise.resolve([]);
    // Ranking needs the documents' length classes; newest first does not.
    var lengthsLoaded = byDate ? null : this.lengths();
    return Promise.all([this.meta(), lengthsLoaded].concat(segments.map(function (s) { return self.matchSegment(s); }))).then(function (all) {
      var meta = all[0], lengths = all[1], matches = all.slice(2), docs = null;
      matches.forEach(function (m) {
        var set = new Set(m.docs.keys());
        docs = docs === null ? set : new Set([...docs].filter(function (d) { return set.has(d); }));
      });
      return self.applyFilters(meta, [...docs], filters || {}).then(function (kept) {
        // Documents are numbered oldest first: newest first is highest first.
        if (byDate) return kept.sort(function (a, b) { return b - a; }).map(function (d) { return { doc: d, score: 0 }; });
        var scored = kept.map(function (doc) {
            var score = 0;
            matches.forEach(function (m) {
              var best = 0, sum = 0;
              m.lists.forEach(function (list) {
                list.forEach(function (p) {
                  if (p.doc !== doc) return;
                  var s = bm25(meta, p.df, p.frequency, lengths[doc]);
                  if (m.phrase) sum += s; else best = Math.max(best, s);
                });
              });
              score += m.phrase ? sum : best;
            });
            return { doc: doc, score: score };
          });
        return scored.sort(function (a, b) { return b.score - a.score || b.doc - a.doc; });
      });
    });
  };

  Index.prototype.applyFilters = function (meta, docs, filters) {
    var self = this, active = Object.keys(filters).filter(function (f) { return filters[f] && filters[f].length && meta.facets[f]; });
    if (!active.length) return Promise.resolve(docs);
    // Each chosen value's documents are a file of their own.
    return Promise.all(active.map(function (f) {
      return Promise.all(filters[f].map(function (v) {
        var name = meta.facets[f].files[v];
        return name ? self.load(name) : [];
      }));
    })).then(function (perFacet) {
      var kept = new Set(docs);
      perFacet.forEach(function (lists) {
        var allowed = new Set();
        lists.forEach(function (list) { undelta(list).forEach(function (d) { allowed.add(d); }); });
        kept = new Set([...kept].filter(function (d) { return allowed.has(d); }));
      });
      return docs.filter(function (d) { return kept.has(d); });
    });
  };

  // rows of the doc table: [path, title, date, issuer, index_no, doc_no, excerpt]
  Index.prototype.documents = function (docs) {
    var self = this;
    return this.meta().then(function (meta) {
      // meta names the chunk directories; each names meta.chunkdir chunks.
      return Promise.all(docs.map(function (d) {
        var chunk = Math.floor(d / meta.chunk);
        return self.load(meta.chunkdirs[Math.floor(chunk / meta.chunkdir)]).then(function (names) {
          return self.load(names[chunk % meta.chunkdir]);
        }).then(function (rows) { return rows[d % meta.chunk]; });
      }));
    });
  };

  root.GazetteSearch = {
    add: add,
    Index: Index,
    tokenize: tokenize,
    tokenizeQuery: tokenizeQuery,
    parseQuery: parseQuery,
    shardKey: shardKey,
    bucket: bucket,
    reset: function () { loaded = {}; waiting = {}; lengthsOf = { name: null, lengths: null }; },
  };

  // ---- The search page ------------------------------------------------------
  if (typeof document === "undefined") return;
  var PAGE_SIZE = 10;

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // The excerpt with every query term marked, built from text nodes only.
  function highlight(text, segments) {
    var frag = document.createDocumentFragment(), lower = normalize(text);
    var needles = segments.map(function (s) {
      return s.tokens.length > 1 ? null : s.tokens[0].term;
    }).filter(Boolean);
    segments.forEach(function (s) {
      if (s.tokens.length > 1) {
        var t = s.tokens.map(function (x) { return x.term; });
        // a CJK phrase: first bigram and the last character of each next one
        var phrase = t[0];
        for (var i = 1; i < t.length; i++) phrase += [...t[i]].slice(-1).join("");
        needles.push(phrase);
      }
    });
    var i = 0;
    while (i < text.length) {
      var best = -1, len = 0;
      needles.forEach(function (n) {
        var at = lower.indexOf(n, i);
        if (at >= 0 && (best < 0 || at < best)) { best = at; len = n.length; }
      });
      if (best < 0 || lower.length !== text.length) { frag.appendChild(document.createTextNode(text.slice(i))); break; }
      frag.appendChild(document.createTextNode(text.slice(i, best)));
      frag.appendChild(el("mark", null, text.slice(best, best + len)));
      i = best + len;
    }
    return frag;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var app = document.getElementById("search-app");
    if (!app) return;
    var base = app.getAttribute("data-index").replace(/meta\.js$/, "");
    var siteRoot = app.getAttribute("data-root"), suffix = app.getAttribute("data-suffix") || "";
    var strings = JSON.parse(app.getAttribute("data-strings"));
    var index = new Index(function (name, failed) {
      var s = document.createElement("script");
      s.src = base + name + ".js";
      s.onerror = function () { failed(new Error(name)); };
      document.head.appendChild(s);
    });
    var form = document.getElementById("search-form");
    var results = document.getElementById("search-results");
    var status = document.getElementById("search-status");
    var params = new URLSearchParams(window.location.search);
    var query = params.get("q") || "", byDate = params.get("sort") === "date";
    var page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    var filters = {};
    ["topic", "issuer", "year", "type", "validity"].forEach(function (f) { var v = params.get(f); if (v) filters[f] = [v]; });
    form.elements.q.value = query;
    if (form.elements.sort) form.elements.sort.value = byDate ? "date" : "relevance";
    app.hidden = false;

    index.meta().then(function (meta) {
      Object.keys(meta.facets).forEach(function (f) {
        var select = form.elements[f];
        if (!select) return;
        meta.facets[f].values.forEach(function (v) {
          var o = el("option", null, v[0] + " (" + v[1] + ")");
          o.value = v[0];
          if (filters[f] && filters[f][0] === v[0]) o.selected = true;
          select.appendChild(o);
        });
        select.closest(".search-filter").hidden = false;
      });
      if (!query.trim()) { status.textContent = strings.prompt; return null; }
      status.textContent = strings.searching;
      return index.search(query, filters, byDate);
    }).then(function (found) {
      if (!found) return;
      var segments = parseQuery(query);
      if (!found.length) {
        status.textContent = strings.none.replace("{q}", query);
        return;
      }
      status.textContent = strings.count.replace("{n}", found.length);
      var shown = found.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
      return index.documents(shown.map(function (r) { return r.doc; })).then(function (rows) {
        var list = el("ol", "search-list");
        list.start = (page - 1) * PAGE_SIZE + 1;
        rows.forEach(function (row) {
          var li = el("li"), a = el("a", null, row[1]);
          a.href = siteRoot + row[0] + suffix;
          var h = el("h2", "search-title");
          h.appendChild(a);
          li.appendChild(h);
          var meta = el("p", "search-meta");
          [row[2], row[3], row[5], row[4]].filter(Boolean).forEach(function (v, i) {
            if (i) meta.appendChild(document.createTextNode(" · "));
            meta.appendChild(document.createTextNode(v));
          });
          li.appendChild(meta);
          var ex = el("p", "search-excerpt");
          ex.appendChild(highlight(row[6], segments));
          li.appendChild(ex);
          list.appendChild(li);
        });
        results.appendChild(list);
        var pages = Math.ceil(found.length / PAGE_SIZE);
        if (pages > 1) {
          var nav = el("nav", "pagination");
          nav.setAttribute("aria-label", strings.pagination);
          var ul = el("ul");
          for (var p = 1; p <= pages; p++) {
            if (p !== 1 && p !== pages && Math.abs(p - page) > 2) continue;
            var li2 = el("li"), link = el("a", null, String(p));
            params.set("page", String(p));
            link.href = "?" + params.toString();
            if (p === page) link.setAttribute("aria-current", "page");
            li2.appendChild(link);
            ul.appendChild(li2);
          }
          nav.appendChild(ul);
          results.appendChild(nav);
        }
      });
    }).catch(function () {
      status.textContent = strings.failed;
    });
  });
})(typeof window !== "undefined" ? window : globalThis);
