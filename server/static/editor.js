// The SPARQL query editor at /sparql: YASGUI (loaded just before this file from
// static/vendor/yasgui/), configured from the JSON block the server renders into the page.
// This is a file rather than an inline script, and the configuration is data rather than code,
// so that a Content-Security-Policy of script-src 'self' keeps working.
"use strict";

(function () {
  // Saved tabs and queries live in the browser's localStorage under this name, so that they
  // belong to this site's editor and survive reloads and new releases.
  const STORAGE_ID = "kzcn-kg-sparql";
  // Example tabs the reader closed, so that a reload does not bring them back.
  const CLOSED_EXAMPLES_KEY = STORAGE_ID + "_closed-examples";
  const EXAMPLE_TAB_PREFIX = "example-";

  const DEFAULT_QUERY_BODY = [
    "SELECT ?organization ?label WHERE {",
    "  ?organization a kzcn:Organization ;",
    "                rdfs:label ?label .",
    '  FILTER (lang(?label) = "en")',
    "}",
    "ORDER BY ?label",
  ].join("\n");

  function readConfig() {
    const element = document.getElementById("kzcn-editor-config");
    return JSON.parse(element.textContent);
  }

  // `PREFIX kzcn:   <…>` lines for every prefix the dataset uses, aligned as in queries/.
  function prefixLines(prefixes) {
    const names = Object.keys(prefixes);
    const width = Math.max(0, ...names.map((name) => name.length));
    return names
      .map((name) => "PREFIX " + (name + ":").padEnd(width + 2) + "<" + prefixes[name] + ">")
      .join("\n");
  }

  // YASQE's stock completers ask third-party services (Linked Open Vocabularies) for classes
  // and properties; the page must not talk to anything but this server. Prefix completion is
  // kept, but offers our own prefixes: typing `inst:` in a query adds its PREFIX line.
  function useLocalCompletersOnly(prefixes) {
    const Yasqe = Yasgui.Yasqe;
    Yasqe.forkAutocompleter(
      "prefixes",
      {
        name: "kzcnPrefixes",
        persistenceId: null,
        get: Object.keys(prefixes).map((name) => name + ": <" + prefixes[name] + ">"),
      },
      false
    );
    // Set on the shared defaults, not in the Yasgui config: YASGUI deep-merges its config
    // into the defaults, and a merged array would keep the stock completers past our own.
    Yasgui.defaults.yasqe.autocompleters = ["variables", "kzcnPrefixes"];
  }

  function readClosedExamples() {
    try {
      const stored = JSON.parse(window.localStorage.getItem(CLOSED_EXAMPLES_KEY) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch (error) {
      return []; // storage disabled or unreadable: every example is offered again
    }
  }

  function writeClosedExamples(closed) {
    try {
      window.localStorage.setItem(CLOSED_EXAMPLES_KEY, JSON.stringify(closed));
    } catch (error) {
      // Storage disabled or full: closed examples come back on reload, nothing worse.
    }
  }

  // One tab per example, after the reader's own tabs. A tab's id is derived from the
  // example's name, so an example already open (restored from storage) is not added twice,
  // and an example added in a new release shows up for returning readers too.
  function addExampleTabs(yasgui, examples, endpoint) {
    const closed = readClosedExamples();
    for (const example of examples) {
      const id = EXAMPLE_TAB_PREFIX + example.name;
      if (yasgui.getTab(id) || closed.includes(id)) {
        continue;
      }
      yasgui.addTab(false, {
        id: id,
        name: example.title,
        yasqe: { value: example.query },
        requestConfig: { endpoint: endpoint },
      });
    }
    yasgui.on("tabClose", (instance, tab) => {
      const tabId = tab.getId();
      if (tabId.startsWith(EXAMPLE_TAB_PREFIX) && !closed.includes(tabId)) {
        closed.push(tabId);
        writeClosedExamples(closed);
      }
    });
    // "Undo close tab" brings an example back: forget that it was closed.
    yasgui.on("tabAdd", (instance, tabId) => {
      const index = closed.indexOf(tabId);
      if (index >= 0) {
        closed.splice(index, 1);
        writeClosedExamples(closed);
      }
    });
  }

  function start() {
    const container = document.getElementById("kzcn-editor");
    if (typeof Yasgui === "undefined") {
      // The bundle failed to load: say so rather than leave an empty page.
      container.textContent =
        "The query editor could not be loaded; reload the page, or send queries to this " +
        "endpoint with any SPARQL client.";
      return;
    }
    const config = readConfig();
    const endpoint = config.endpoint;
    useLocalCompletersOnly(config.prefixes);

    const yasgui = new Yasgui(container, {
      // POST, so that long queries do not meet URL length limits.
      requestConfig: {
        endpoint: endpoint,
        method: "POST",
        // Turtle with our prefixes reads better in the response view than N-Triples.
        acceptHeaderGraph: "text/turtle,*/*;q=0.9",
      },
      // There is one endpoint here: new tabs take it from this config, and the endpoint
      // field suggests no third-party endpoints (YASGUI's defaults list DBpedia and Wikidata).
      copyEndpointOnNewTab: false,
      endpointCatalogueOptions: {
        getData: () => [{ endpoint: endpoint }],
      },
      // A shared link (#query=…) opens its query here, but always against this endpoint.
      populateFromUrl: (tabConfig) => {
        tabConfig.requestConfig.endpoint = endpoint;
        return tabConfig;
      },
      persistenceId: STORAGE_ID,
      yasqe: {
        value: prefixLines(config.prefixes) + "\n\n" + DEFAULT_QUERY_BODY,
        // The PREFIX block starts folded to one line (click to unfold), so that the query
        // itself is what a reader sees first.
        collapsePrefixesOnLoad: true,
      },
      // The results table shows IRIs with our prefixes (inst:…) rather than in full.
      // Errors are left to YASR's own renderer, which shows the endpoint's text/plain
      // message (e.g. the time or result-size limit) as it is.
      yasr: {
        prefixes: config.prefixes,
      },
    });
    addExampleTabs(yasgui, config.examples, endpoint);
  }

  // The scripts are deferred, so the document has been parsed by the time this runs.
  start();
})();
