// The partnership network on the home page, drawn with Cytoscape.js (served from this site).
// The data comes from the JSON block #kzcn-network that the server writes into the page: no
// inline script, no eval, so a Content-Security-Policy of script-src 'self' holds. Without the
// library (or without JavaScript) the page keeps its "unavailable" note, and the table of
// agreements gives the same links as text.
(function () {
  "use strict";

  const block = document.getElementById("kzcn-network");
  const picture = document.getElementById("kzcn-network-picture");
  const unavailable = document.getElementById("kzcn-network-unavailable");
  const hover = document.getElementById("kzcn-network-hover");
  const toolbar = document.querySelector("[data-network-toolbar]");
  const legend = document.querySelector("[data-network-legend]");
  if (!block || !picture || typeof window.cytoscape !== "function") {
    return;
  }

  // Colours live in home.css (custom properties), shared with the legend.
  const css = getComputedStyle(document.documentElement);
  function colour(name, otherwise) {
    return css.getPropertyValue(name).trim() || otherwise;
  }
  const palette = {
    ink: colour("--network-ink", "#1d2433"),
    muted: colour("--network-muted", "#5b6475"),
    edge: colour("--network-edge", "#a3abb9"),
    agreement: colour("--network-agreement", "#3b4252"),
    other: colour("--network-none", "#8a93a3"),
  };

  // ------------------------------------------------------------------ elements

  function organizationNode(org) {
    return {
      group: "nodes",
      data: {
        id: org.id,
        label: org.label,
        name: org.name,
        lang: org.lang,
        href: org.href,
        shape: org.shape,
        colour: colour("--network-" + org.group, palette.other),
      },
      classes: [
        "organization",
        org.side,
        org.unnamed ? "unnamed" : "",
        org.fallback ? "fallback" : "",
      ].join(" "),
    };
  }

  function agreementNode(agreement) {
    return {
      group: "nodes",
      data: {
        id: agreement.id,
        label: agreement.paragraph === null ? "" : String(agreement.paragraph),
        paragraph: agreement.paragraph,
        name: agreement.label,
        lang: agreement.lang,
        href: agreement.href,
      },
      classes: agreement.planned ? "agreement planned" : "agreement",
    };
  }

  // One edge from an agreement to each of its parties: an agreement of four reads as a star.
  function partyEdges(agreement, known) {
    return agreement.parties
      .filter((party) => known.has(party))
      .map((party) => ({
        group: "edges",
        data: { id: agreement.id + " " + party, source: agreement.id, target: party },
        classes: agreement.planned ? "planned" : "",
      }));
  }

  function elementsOf(data) {
    const known = new Set(data.organizations.map((org) => org.id));
    const elements = data.organizations.map(organizationNode);
    data.agreements.forEach((agreement) => {
      elements.push(agreementNode(agreement));
      elements.push(...partyEdges(agreement, known));
    });
    return elements;
  }

  // ------------------------------------------------------------------ layout
  // The article is a list of agreements, mostly between two or three parties, so the picture
  // is a set of small groups rather than one web. Each group of connected organizations is a
  // block: the first country on the left, its agreements in the middle, the other side on the
  // right, so that every name has room. The blocks follow the article's paragraphs and fill
  // two lanes, top to bottom, like the columns of a newspaper.

  const ROW = 62; // height of one row of names
  const GAP = 26; // between blocks
  const REACH = 130; // from a name to its agreement
  const LANE = 720; // width of a lane, names included
  const LANES = 2;
  const TOP = 60; // room for the country headings

  function byParagraph(a, b) {
    return (a.data("paragraph") || 0) - (b.data("paragraph") || 0);
  }

  // The three columns of a block, in the order the agreements come in the article.
  function columnsOf(component) {
    const left = [];
    const right = [];
    const middle = component.nodes(".agreement").sort(byParagraph).toArray();
    middle.forEach((agreement) => {
      agreement.neighborhood(".organization").forEach((party) => {
        const column = party.hasClass("left") ? left : right;
        if (!column.includes(party)) column.push(party);
      });
    });
    return [left, middle, right];
  }

  function blocksOf(cy) {
    return cy
      .elements()
      .components()
      .map((component) => {
        const columns = columnsOf(component);
        const first = columns[1].length ? columns[1][0].data("paragraph") || 0 : Infinity;
        const rows = Math.max(1, ...columns.map((column) => column.length));
        return { columns: columns, first: first, rows: rows };
      })
      .sort((a, b) => a.first - b.first);
  }

  function columnX(lane, column) {
    return lane * LANE + LANE / 2 + (column - 1) * REACH;
  }

  function positionsOf(blocks) {
    const total = blocks.reduce((sum, b) => sum + b.rows, 0);
    const perLane = Math.ceil(total / LANES);
    const positions = {};
    let lane = 0;
    let y = TOP;
    let used = 0;
    blocks.forEach((block) => {
      if (used >= perLane && lane < LANES - 1) {
        lane += 1;
        y = TOP;
        used = 0;
      }
      const height = block.rows * ROW;
      block.columns.forEach((column, c) => {
        column.forEach((node, k) => {
          const share = height / column.length; // fewer names share the same height
          positions[node.id()] = { x: columnX(lane, c), y: y + (k + 0.5) * share };
        });
      });
      y += height + GAP;
      used += block.rows;
    });
    return { positions: positions, lanes: lane + 1 };
  }

  // Each lane is headed by the countries of its two sides (links to the countries' pages).
  function headings(sides, lanes) {
    const nodes = [];
    for (let lane = 0; lane < lanes; lane += 1) {
      sides.slice(0, 2).forEach((side, s) => {
        nodes.push({
          group: "nodes",
          data: {
            id: "heading " + lane + " " + side.group,
            label: side.label,
            name: side.label,
            lang: side.lang,
            href: side.href,
            colour: colour("--network-" + side.group, palette.other),
          },
          classes: "heading",
          position: { x: columnX(lane, s === 0 ? 0 : 2), y: 16 },
        });
      });
    }
    return nodes;
  }

  function arrange(cy, sides) {
    const laid = positionsOf(blocksOf(cy));
    cy.nodes().positions((node) => laid.positions[node.id()] || { x: 0, y: 0 });
    cy.add(headings(sides, laid.lanes));
    // As tall as the drawing needs at full width: no empty band, no shrunken names.
    const box = cy.elements().boundingBox();
    const height = Math.min(1600, Math.max(360, (box.h / box.w) * picture.clientWidth + 40));
    picture.style.height = Math.round(height) + "px";
    cy.resize();
    cy.fit(undefined, 20);
  }

  // ------------------------------------------------------------------ style

  const style = [
    {
      selector: "node",
      style: {
        shape: "data(shape)",
        width: 22,
        height: 22,
        "background-color": "data(colour)",
        "border-color": "#ffffff",
        "border-width": 1.5,
        label: "data(label)",
        color: palette.ink,
        "font-size": 12,
        "font-family": "system-ui, sans-serif",
        "text-wrap": "wrap",
        "text-max-width": 200,
        "text-valign": "center",
        "text-outline-color": "#ffffff",
        "text-outline-width": 2,
      },
    },
    // Names point away from the middle, so that they never cross the lines.
    {
      selector: "node.left",
      style: { "text-halign": "left", "text-margin-x": -8, "text-justification": "right" },
    },
    {
      selector: "node.right",
      style: { "text-halign": "right", "text-margin-x": 8, "text-justification": "left" },
    },
    {
      selector: "node.unnamed",
      style: {
        "background-color": "#ffffff",
        "border-color": "data(colour)",
        "border-style": "dashed",
        "border-width": 2.5,
        color: palette.muted,
      },
    },
    { selector: "node.fallback", style: { "font-style": "italic" } },
    {
      selector: "node.agreement",
      style: {
        shape: "diamond",
        width: 26,
        height: 26,
        "background-color": palette.agreement,
        "border-width": 0,
        color: "#ffffff",
        "font-size": 10,
        "font-weight": "bold",
        "text-halign": "center",
        "text-outline-width": 0,
      },
    },
    {
      selector: "node.agreement.planned",
      style: {
        "background-color": "#ffffff",
        "border-color": palette.agreement,
        "border-style": "dashed",
        "border-width": 1.5,
        color: palette.agreement,
      },
    },
    {
      selector: "node.heading",
      style: {
        shape: "round-rectangle",
        width: 1,
        height: 1,
        "background-opacity": 0,
        "border-width": 0,
        color: "data(colour)",
        "font-size": 15,
        "font-weight": "bold",
        "text-halign": "center",
      },
    },
    {
      selector: "edge",
      style: { width: 1.5, "line-color": palette.edge, "curve-style": "straight" },
    },
    { selector: "edge.planned", style: { "line-style": "dashed" } },
    { selector: ".faded", style: { opacity: 0.25 } },
  ];

  // ------------------------------------------------------------------ interaction

  function showName(node) {
    const agreement = node.hasClass("agreement") && node.data("label");
    hover.textContent = (agreement ? "¶" + node.data("label") + " — " : "") + node.data("name");
    if (node.data("lang")) hover.lang = node.data("lang");
  }

  function highlight(cy, node) {
    cy.elements().addClass("faded");
    node.closedNeighborhood().removeClass("faded");
  }

  function clear(cy) {
    cy.elements().removeClass("faded");
    hover.textContent = "";
    hover.removeAttribute("lang");
    picture.style.cursor = "";
  }

  function connectToolbar(cy) {
    toolbar.hidden = false;
    toolbar.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      const centre = { x: picture.clientWidth / 2, y: picture.clientHeight / 2 };
      const action = button.dataset.zoom;
      if (action === "in") cy.zoom({ level: cy.zoom() * 1.25, renderedPosition: centre });
      if (action === "out") cy.zoom({ level: cy.zoom() / 1.25, renderedPosition: centre });
      if (action === "fit") cy.fit(undefined, 20);
    });
  }

  function draw() {
    const data = JSON.parse(block.textContent);
    picture.hidden = false; // the library measures its container: it must be visible first
    const cy = window.cytoscape({
      container: picture,
      elements: elementsOf(data),
      style: style,
      layout: { name: "preset" },
      // The wheel scrolls the page, as everywhere else; the buttons zoom.
      userZoomingEnabled: false,
      boxSelectionEnabled: false,
      autounselectify: true,
      minZoom: 0.2,
      maxZoom: 4,
    });
    arrange(cy, data.sides);
    cy.on("mouseover", "node", (event) => {
      showName(event.target);
      highlight(cy, event.target);
      picture.style.cursor = "pointer";
    });
    cy.on("mouseout", "node", () => clear(cy));
    cy.on("tap", "node", (event) => window.location.assign(event.target.data("href")));
    if (toolbar) connectToolbar(cy);
    if (legend) legend.hidden = false;
    if (unavailable) unavailable.hidden = true;
  }

  try {
    draw();
  } catch (error) {
    // Keep the page usable: hide the broken picture, leave the note and the table.
    picture.hidden = true;
    console.error("The network picture could not be drawn:", error);
  }
})();
