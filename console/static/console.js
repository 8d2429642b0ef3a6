// store-cloner operator console: one page over the documented API at /v1 (same origin; whatever
// signs the requests does it on the server that served this page). No library, no build step.
// Everything shown comes from the API's answers, written with textContent (never as HTML).
"use strict";
(() => {
  const RUNNING = ["STARTING", "WAITING", "CREATING_STORE", "QUEUED", "IN_PROGRESS"];
  const ENDED = ["COMPLETED", "FAILED", "TIMED_OUT", "CANCELLED"];
  const STATUSES = [...RUNNING, ...ENDED];
  const RETRYABLE = ["FAILED", "TIMED_OUT", "CANCELLED"];
  const TABS = ["RUNNING", ...STATUSES];
  const LABEL = {
    RUNNING: "Running", STARTING: "Starting", WAITING: "Waiting", CREATING_STORE: "Creating store",
    QUEUED: "Queued", IN_PROGRESS: "In progress", COMPLETED: "Completed", FAILED: "Failed",
    TIMED_OUT: "Timed out", CANCELLED: "Cancelled",
  };
  const SINCE = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, all: null };
  const SINCE_WORDS = {
    "1h": "in the last hour", "24h": "in the last 24 hours", "7d": "in the last 7 days",
    "30d": "in the last 30 days", all: "at any time",
  };
  // Phases of GET /clones/{id}/timeline: words, colour, and whether the colour takes dark text.
  const PHASES = {
    slotWait: ["Waiting for a slot", "#9a6700", false],
    budgetWait: ["Waiting for the Ecwid budget", "#d4a72c", true],
    storeCreation: ["Creating the store", "#8250df", false],
    ecwidQueued: ["In Ecwid's queue", "#54aeff", true],
    ecwidInProgress: ["Cloning at Ecwid", "#0969da", false],
    mapping: ["Writing the mapping", "#1a7f37", false],
    profile: ["Store profile", "#bc4c00", false],
    instantSite: ["Instant Site", "#bf3989", false],
    events: ["Events", "#59636e", false],
    other: ["Other steps", "#afb8c1", true],
  };
  // The campaign's status groups, as its chart stacks them.
  const GROUPS = [
    ["waiting", "Waiting", "#bf8700", ["WAITING"]],
    ["running", "Running", "#0969da", ["STARTING", "CREATING_STORE", "QUEUED", "IN_PROGRESS"]],
    ["completed", "Completed", "#1a7f37", ["COMPLETED"]],
    ["failed", "Failed or timed out", "#cf222e", ["FAILED", "TIMED_OUT"]],
    ["cancelled", "Cancelled", "#6e7781", ["CANCELLED"]],
  ];
  const ERROR_CODES = [
    "SOURCE_NOT_RESPONDING", "UNKNOWN_INTERNAL_ERROR", "UNKNOWN_IMPORT_FAILED_TO_START", "AUTH_APP_DOESNT_EXIST",
    "SOURCE_NOT_FOUND", "TARGET_NOT_FOUND", "TARGET_NOT_ALLOWED_TO_CLONE", "TARGET_PRODUCTS_NOT_EMPTY",
    "TARGET_CATEGORIES_NOT_EMPTY", "TARGET_PRODUCT_TYPES_NOT_EMPTY", "TARGET_PRODUCTS_LIMIT",
    "TARGET_CATEGORIES_LIMIT", "TARGET_DESTINATION_ZONES_LIMIT", "CLONE_FAILED", "CLONE_TIMED_OUT",
    "CLONE_ANSWER_LOST", "CANCELLED", "MERCHANT_EMAIL_EXISTS", "STORE_CREATE_ANSWER_LOST",
    "STORE_CREATE_ANSWER_MALFORMED", "INVALID_MERCHANT", "STORE_CREATE_NOT_ALLOWED",
  ];
  const PAGE_SIZE = 25;
  const KEEP_SAMPLES_MS = 30 * 60 * 1000;
  const RATE_WINDOW_MS = 60 * 1000;

  const state = {
    config: { refreshSeconds: 2 },
    view: "clones",
    tab: "RUNNING",
    filters: {},
    since: "24h",
    tokens: [null], // nextToken of each page of the list seen so far
    page: 0,
    nextToken: null,
    cloneId: null,
    clone: null,
    timeline: null,
    samplesLoaded: null,
    paused: false,
    samples: [], // GET /campaign answers, with the time each was read
    bulk: null,
    timer: null,
    shown: "",
  };

  // -- little helpers ---------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "style") Object.assign(node.style, value); // through the CSSOM: the CSP allows no inline style
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  const badge = (status) => h("span", { class: `badge ${status}`, "data-status": status }, LABEL[status] || status);
  const number = (value) =>
    value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US", { maximumFractionDigits: 1 });
  function seconds(value) {
    if (value === null || value === undefined) return "—";
    const total = Number(value);
    if (total > 0 && total < 0.05) return "<0.1 s";
    if (total < 60) return `${total < 10 ? total.toFixed(1) : Math.round(total)} s`;
    if (total < 3600) return `${Math.floor(total / 60)} min ${Math.round(total % 60)} s`;
    return `${Math.floor(total / 3600)} h ${Math.round((total % 3600) / 60)} min`;
  }
  function when(iso) {
    if (!iso) return "—";
    const moment = new Date(iso);
    const today = new Date().toDateString() === moment.toDateString();
    const time = moment.toLocaleTimeString("en-GB", { hour12: false });
    return today ? time : `${moment.toLocaleDateString("en-CA")} ${time}`;
  }
  const clock = (ms) => new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
  function sinceIso(key) {
    const span = SINCE[key];
    if (!span) return null;
    // Whole minutes: the same filter from one refresh to the next.
    return new Date(Math.floor((Date.now() - span * 1000) / 60000) * 60000).toISOString();
  }
  function query(params) {
    const pairs = Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== "");
    return pairs.length ? "?" + new URLSearchParams(pairs).toString() : "";
  }
  function problems(answer) {
    const data = answer.data || {};
    const lines = (data.errors || []).map((e) => `${e.field}: ${e.reason}`);
    return [data.message || `HTTP ${answer.status}`, ...lines].join("\n");
  }
  const requestId = () => `console-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch("/v1" + path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = { message: `HTTP ${response.status}: not JSON` };
    }
    return { status: response.status, ok: response.ok, data };
  }
  async function apiOk(method, path, body) {
    const answer = await api(method, path, body);
    if (!answer.ok) throw new Error(`${method} ${path}: ${problems(answer)}`);
    return answer.data;
  }

  let noticeTimer = null;
  let noticeAt = 0;
  function notice(text, bad = false, link = null) {
    noticeAt = Date.now();
    const box = $("notice");
    const close = h("button", { type: "button", class: "close", "aria-label": "Dismiss", onclick: () => (box.hidden = true) }, "×");
    box.replaceChildren(text, link ? " " : "", link || "", close);
    box.classList.toggle("bad", bad);
    box.hidden = false;
    clearTimeout(noticeTimer);
    if (!bad) noticeTimer = setTimeout(() => (box.hidden = true), 15000); // a failure stays until dismissed
  }
  function live(ok, text) {
    $("live-dot").className = `dot ${ok ? "ok" : "bad"}`;
    $("live-text").textContent = text;
  }

  // -- routing ----------------------------------------------------------------------------------
  function route() {
    if (Date.now() - noticeAt > 3000) $("notice").hidden = true; // an old notice goes with the view it was about
    const hash = location.hash.replace(/^#\/?/, "");
    const [path, search] = hash.split("?");
    const params = new URLSearchParams(search || "");
    if (!path.startsWith("clone/")) state.since = params.get("since") in SINCE ? params.get("since") : "24h";
    if (path.startsWith("clone/")) {
      state.view = "clone";
      const id = decodeURIComponent(path.slice(6));
      if (id !== state.cloneId) {
        state.cloneId = id;
        state.clone = state.timeline = state.samplesLoaded = null;
        // Nothing of the clone shown before stays while this one loads.
        delete $("view-clone").dataset.cloneId;
        for (const list of ["clone-facts", "clone-store", "clone-after", "timeline-bar", "timeline-legend", "events-list"]) {
          $(list).replaceChildren();
        }
        $("timeline-steps").tBodies[0].replaceChildren();
        $("timeline-total").textContent = "";
        $("retry-button").hidden = $("cancel-button").hidden = true;
        $("mapping-result").textContent = "";
        $("mapping-samples").textContent = "—";
      }
    } else if (path === "campaign") {
      state.view = "campaign";
    } else {
      state.view = "clones";
      const tab = params.get("status") || "RUNNING";
      const filters = {};
      for (const name of ["errorCode", "sourceStoreId", "targetStoreId"]) {
        if (params.get(name)) filters[name] = params.get(name);
      }
      if (tab !== state.tab || JSON.stringify(filters) !== JSON.stringify(state.filters)) {
        state.tokens = [null];
        state.page = 0;
      }
      state.tab = TABS.includes(tab) ? tab : "RUNNING";
      state.filters = filters;
    }
    for (const view of ["clones", "clone", "campaign"]) $(`view-${view}`).hidden = state.view !== view;
    const current = state.view === "campaign" ? "nav-campaign" : "nav-clones";
    for (const id of ["nav-clones", "nav-campaign"]) {
      if (id === current) $(id).setAttribute("aria-current", "page");
      else $(id).removeAttribute("aria-current");
    }
    syncFilterForm();
    refresh();
  }
  function clonesHash(changes = {}) {
    const next = { status: state.tab, ...state.filters, since: state.since, ...changes };
    if (next.status === "RUNNING") delete next.status;
    if (next.since === "24h") delete next.since;
    return "#/clones" + query(next);
  }

  // -- the refresh loop -------------------------------------------------------------------------
  // One refresh at a time: one asked for while another runs happens right after it.
  let refreshing = null;
  let again = false;
  function refresh() {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = refreshOnce().finally(() => {
      refreshing = null;
      if (again) {
        again = false;
        refresh();
      }
    });
    return refreshing;
  }
  async function refreshOnce() {
    clearTimeout(state.timer);
    try {
      if (state.view === "clones") {
        // The tabs' counts are a sample of the campaign too, unless filters narrow them.
        const filtered = Object.keys(state.filters).length > 0;
        await Promise.all([filtered ? sampleCampaign() : null, refreshClones(!filtered)]);
      }
      else if (state.view === "clone") await Promise.all([sampleCampaign(), refreshClone()]);
      else {
        await sampleCampaign();
        renderCampaign();
      }
      if (state.bulk && state.bulk.status !== "COMPLETED") await refreshBulk();
      live(true, `${state.paused ? "paused" : "live"} · updated ${clock(Date.now())}`);
    } catch (error) {
      live(false, `the API is not answering: ${error.message}`);
    }
    if (!state.paused) state.timer = setTimeout(refresh, state.config.refreshSeconds * 1000);
  }

  async function sampleCampaign(read = null) {
    const figures = read || (await apiOk("GET", "/campaign" + query({ since: sinceIso(state.since) })));
    const now = Date.now();
    if (state.samples.length && state.samples[0].sinceKey !== state.since) state.samples = [];
    state.samples.push({ t: now, sinceKey: state.since, figures });
    state.samples = state.samples.filter((sample) => now - sample.t <= KEEP_SAMPLES_MS);
    return figures;
  }

  // -- the clone list ---------------------------------------------------------------------------
  function listFilters() {
    return { ...state.filters, since: sinceIso(state.since) };
  }

  async function refreshClones(sampled) {
    const filters = listFilters();
    // The counts are read beside the list, so the tabs and the rows agree.
    const counting = apiOk("GET", "/campaign" + query(filters));
    let clones;
    if (state.tab === "RUNNING") {
      const pages = await Promise.all(
        RUNNING.map((status) => apiOk("GET", "/clones" + query({ status, ...filters, limit: 50 }))),
      );
      clones = pages.flatMap((page) => page.clones).sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
      clones = clones.slice(0, 50);
      state.nextToken = null;
    } else {
      const token = state.tokens[state.page];
      const page = await apiOk(
        "GET", "/clones" + query({ status: state.tab, ...filters, limit: PAGE_SIZE, nextToken: token }),
      );
      clones = page.clones;
      state.nextToken = page.nextToken;
    }
    const counts = await counting;
    if (sampled) await sampleCampaign(counts);
    renderTabs(counts);
    renderClones(clones);
    renderBulkBar(counts);
  }

  function renderTabs(figures) {
    const counts = { ...figures.counts, RUNNING: figures.running };
    const bar = $("status-tabs");
    if (!bar.children.length) {
      for (const tab of TABS) {
        bar.append(
          h("button", {
            type: "button", role: "tab", id: `tab-${tab}`, "data-status": tab,
            onclick: () => { location.hash = clonesHash({ status: tab }); },
            onkeydown: tabKeys,
          }, LABEL[tab], h("span", { class: "count", "data-count": tab }, "…")),
        );
      }
    }
    for (const tab of TABS) {
      const button = $(`tab-${tab}`);
      const selected = tab === state.tab;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      const count = button.querySelector(".count");
      count.textContent = number(counts[tab]);
      button.setAttribute("aria-label", `${LABEL[tab]}: ${counts[tab]} clones`);
    }
  }
  function tabKeys(event) {
    const index = TABS.indexOf(event.currentTarget.dataset.status);
    const step = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: TABS.length - 1 - index }[event.key];
    if (step === undefined) return;
    event.preventDefault();
    const next = TABS[(index + step + TABS.length) % TABS.length];
    $(`tab-${next}`).focus();
    location.hash = clonesHash({ status: next });
  }

  function renderClones(clones) {
    const signature = JSON.stringify([state.tab, state.page, clones]);
    $("clones-caption").textContent = `${LABEL[state.tab]} clones, newest first`;
    $("clones-empty").hidden = clones.length > 0;
    $("clones-empty").textContent = `No ${LABEL[state.tab].toLowerCase()} clone ${SINCE_WORDS[state.since]}` +
      (Object.keys(state.filters).length ? " with these filters." : ".");
    const paged = state.tab !== "RUNNING";
    $("page-newest").disabled = $("page-newer").disabled = !paged || state.page === 0;
    $("page-older").disabled = !paged || !state.nextToken;
    $("page-number").textContent = paged ? `page ${state.page + 1}` : "The newest 50 clones of each running status.";
    for (const id of ["page-newest", "page-newer", "page-older"]) $(id).hidden = !paged;
    if (signature === state.shown) return; // nothing changed: keep the rows (and the focus in them)
    state.shown = signature;
    $("clones-body").replaceChildren(
      ...clones.map((clone) =>
        h("tr", { "data-clone-id": clone.cloneId, "data-status": clone.status },
          h("td", {}, h("a", { href: `#/clone/${encodeURIComponent(clone.cloneId)}`, class: "mono" }, clone.cloneId)),
          h("td", {}, badge(clone.status), clone.status === "WAITING" && clone.waitingPlace
            ? h("span", { class: "muted small" }, ` place ${clone.waitingPlace}`) : null),
          h("td", { class: "num" }, `${clone.sourceStoreId} → ${clone.targetStoreId ?? "new store"}`),
          h("td", {}, clone.merchant ? clone.merchant.email : h("span", { class: "muted" }, "—")),
          h("td", { title: clone.createdAt }, when(clone.createdAt)),
          h("td", { class: "num" }, seconds(clone.durationSeconds)),
          h("td", { class: "mono small", title: clone.errorMessage || "" }, clone.errorCode || ""),
          h("td", { class: "num" }, clone.attempt > 1 ? `${clone.attempt}` : "1",
            clone.retriedBy ? h("span", { class: "muted small" }, " (retried)") : null),
        ),
      ),
    );
  }

  function bulkFilter() {
    const filter = { status: state.tab };
    for (const [name, value] of Object.entries(state.filters)) {
      filter[name] = name.endsWith("StoreId") ? Number(value) : value;
    }
    const since = sinceIso(state.since);
    if (since) filter.since = since;
    return filter;
  }
  function bulkAction() {
    if (RUNNING.includes(state.tab)) return "cancel";
    if (RETRYABLE.includes(state.tab)) return "retry";
    return null;
  }
  function renderBulkBar(figures) {
    const action = bulkAction();
    const button = $("bulk-button");
    button.hidden = !action;
    $("bulk-hint").textContent = action ? "" : state.tab === "RUNNING"
      ? "Pick one status to act on every clone in it."
      : "";
    if (!action) return;
    const count = figures.counts[state.tab] ?? 0;
    button.textContent = `${action === "cancel" ? "Cancel" : "Retry"} every matching clone (${count})…`;
    button.className = action === "cancel" ? "danger" : "";
    button.disabled = count === 0;
  }

  async function startBulk() {
    const action = bulkAction();
    const filter = bulkFilter();
    const dry = await api("POST", "/clones/bulk", { action, filter, dryRun: true });
    if (!dry.ok) return notice(problems(dry), true);
    const matched = dry.data.matched;
    const words = `${matched} clone${matched === 1 ? "" : "s"}`;
    const body = h("div", {},
      h("p", { id: "bulk-dry-run", "data-matched": matched },
        `${words} match${matched === 1 ? "es" : ""}: ${LABEL[filter.status].toLowerCase()}, created ${SINCE_WORDS[state.since]}`,
        Object.keys(state.filters).length
          ? `, ${Object.entries(state.filters).map(([k, v]) => `${k} ${v}`).join(", ")}` : "",
        "."),
      matched ? h("p", {}, "The newest: ", h("span", { class: "mono small" }, dry.data.sample.join(", "))) : null,
      h("p", { class: "muted" }, action === "cancel"
        ? "Each is stopped and its slot or place in line given back; Clone Failed (CANCELLED) is published."
        : "Each gets a new attempt into its own store; one that cannot succeed as it stands is skipped."),
    );
    const key = requestId();
    await confirmDialog({
      title: `${action === "cancel" ? "Cancel" : "Retry"} ${words}?`,
      body,
      ok: `${action === "cancel" ? "Cancel" : "Retry"} ${words}`,
      danger: action === "cancel",
      disabled: matched === 0,
      run: async () => {
        const started = await api("POST", "/clones/bulk", { action, filter, requestId: key });
        if (!started.ok) return problems(started);
        state.bulk = { bulkId: started.data.bulkId, action, matched: started.data.matched, status: started.data.status };
        await refreshBulk();
        return null;
      },
    });
  }
  async function refreshBulk() {
    const view = await apiOk("GET", `/clones/bulk/${encodeURIComponent(state.bulk.bulkId)}`);
    state.bulk = { ...state.bulk, ...view };
    const b = state.bulk;
    $("bulk-progress").textContent =
      `Bulk ${b.action}: ${b.done} of ${b.matched} done, ${b.failed} failed, ${b.skipped} skipped` +
      (b.status === "COMPLETED" ? " — finished." : " …");
    $("bulk-progress").dataset.status = b.status;
  }

  // -- one clone --------------------------------------------------------------------------------
  async function refreshClone() {
    const id = state.cloneId;
    $("clone-id").textContent = id;
    const answer = await api("GET", `/clones/${encodeURIComponent(id)}`);
    if (answer.status === 404) {
      $("clone-missing").hidden = false;
      $("clone-missing").textContent = `No clone ${id} in this stack.`;
      return;
    }
    if (!answer.ok) throw new Error(problems(answer));
    $("clone-missing").hidden = true;
    const clone = answer.data;
    const ended = ENDED.includes(clone.status);
    // The timeline while it runs, and once more when it ended.
    if (!ended || !state.timeline || state.timeline.status === "RUNNING" || state.clone?.status !== clone.status) {
      const timeline = await api("GET", `/clones/${encodeURIComponent(id)}/timeline`);
      state.timeline = timeline.ok ? timeline.data : { missing: problems(timeline) };
    }
    if (id !== state.cloneId) return; // the operator moved on meanwhile
    state.clone = clone;
    renderClone(clone);
    renderTimeline(state.timeline, clone);
    renderEvents(state.timeline, clone);
    $("view-clone").dataset.cloneId = id; // what the page shows is this clone's
    if (clone.status === "COMPLETED" && !state.samplesLoaded) await loadMappingSamples(clone);
  }

  function facts(list, rows) {
    list.replaceChildren(
      ...rows.filter(([, value]) => value !== undefined).flatMap(([term, value, key]) => [
        h("dt", {}, term),
        h("dd", key ? { "data-field": key } : {}, value === null || value === "" ? "—" : value),
      ]),
    );
  }
  const cloneLink = (id) => (id ? h("a", { href: `#/clone/${encodeURIComponent(id)}`, class: "mono" }, id) : null);

  function renderClone(clone) {
    const status = $("clone-status");
    status.className = `badge ${clone.status}`;
    status.dataset.status = clone.status;
    status.textContent = LABEL[clone.status] || clone.status;
    $("retry-button").hidden = !(RETRYABLE.includes(clone.status) && !clone.retriedBy);
    $("cancel-button").hidden = ENDED.includes(clone.status);
    const scope = clone.scope ? clone.scope.replace("_", " ").toLowerCase() : "catalog and settings";
    facts($("clone-facts"), [
      ["Status", LABEL[clone.status] + (clone.status === "WAITING" && clone.waitingPlace ? `, place ${clone.waitingPlace} in line` : ""), "status"],
      ["Source store", String(clone.sourceStoreId), "sourceStoreId"],
      ["Target store", clone.targetStoreId ? String(clone.targetStoreId) : "not made yet", "targetStoreId"],
      ["Scope", scope + (clone.cloneDemoCatalog ? ", demo catalog too" : "")],
      ["Ecwid ticket", clone.ticket ? h("span", { class: "mono small" }, clone.ticket) : null],
      ["Created", when(clone.createdAt)],
      ["Started at Ecwid", when(clone.startedAt)],
      ["Finished", when(clone.finishedAt)],
      ["Took", seconds(clone.durationSeconds), "durationSeconds"],
      ["Polls", number(clone.polls)],
      ["Mapped", clone.products !== null ? `${number(clone.products)} products, ${number(clone.categories)} categories` : null, "mapped"],
      ["Error", clone.errorCode ? h("span", {}, h("code", {}, clone.errorCode), " ", clone.errorMessage || "") : null, "errorCode"],
      ["Attempt", String(clone.attempt), "attempt"],
      ["Retries", clone.retryOf ? h("span", {}, "retries ", cloneLink(clone.retryOf)) : undefined, "retryOf"],
      ["Retried by", clone.retriedBy ? cloneLink(clone.retriedBy) : undefined, "retriedBy"],
      ["Request", clone.requestId || clone.signupId ? `${clone.requestId ? "request" : "signup"} ${clone.requestId || clone.signupId}` : undefined],
      ...(clone.cancelledAt ? [
        ["Cancelled", `${when(clone.cancelledAt)} by ${clone.cancelledBy}${clone.cancelReason ? `: ${clone.cancelReason}` : ""}`, "cancelled"],
        ["Ecwid's ticket", clone.ecwidTicketMayComplete ? "may still complete into the target" : "had not started"],
      ] : []),
    ]);
    const merchant = clone.merchant;
    facts($("clone-store"), [
      ["Merchant", merchant ? `${merchant.name} <${merchant.email}>` : clone.personalDataErasedAt ? "erased" : "— (an existing store)", "merchant"],
      ["Store name", merchant?.storeName || undefined],
      ["Merchant IP", merchant?.ip || undefined],
      ["Store", clone.targetStoreId ? `#${clone.targetStoreId}` : "not made yet"],
      ["Store created", clone.storeCreatedAt ? when(clone.storeCreatedAt) : merchant ? "not yet" : "— (it existed)"],
      ["Store token kept", clone.storeTokenSaved === null ? "—" : clone.storeTokenSaved ? "yes" : "no: Instant Site and profile cannot run"],
      ["Store action", storeAction(clone.storeAction), "storeAction"],
      ["Personal data erased", clone.personalDataErasedAt ? when(clone.personalDataErasedAt) : undefined],
    ]);
    facts($("clone-after"), [
      ["Store profile", outcome(clone.profile, (p) => (p.fields?.length ? `${p.fields.length} fields: ${p.fields.join(", ")}` : "")), "profile"],
      ["Instant Site", outcome(clone.instantSite, (site) => `${site.draft ? "as a draft" : "published"}${site.profile ? `; its profile ${site.profile.status?.toLowerCase()}` : ""}`), "instantSite"],
      ["Events not published", clone.eventFailures?.length ? clone.eventFailures.map((f) => `${f.detailType}: ${f.error}`).join("; ") : "none"],
    ]);
  }
  // What became of the store this stack created (FailedStoreAction, or an operator's suspend/resume/delete).
  function storeAction(action) {
    if (!action) return undefined;
    const done = { suspend: "suspended", resume: "resumed", delete: "deleted", keep: "kept" }[action.action] || action.action;
    const why = action.reason ? ` (${action.reason})` : "";
    return `${done}: ${action.status.toLowerCase().replaceAll("_", " ")}${why}, ${when(action.at)} by ${action.by}`;
  }
  function outcome(step, describe) {
    if (!step) return "not asked for";
    const parts = [badge(step.status), " "];
    if (step.error) parts.push(h("code", {}, step.error.errorCode), ` ${step.error.errorMessage || ""}`);
    else parts.push(describe(step));
    return h("span", {}, ...parts);
  }

  function renderTimeline(timeline, clone) {
    const bar = $("timeline-bar");
    const legend = $("timeline-legend");
    const rows = $("timeline-steps").tBodies[0];
    if (!timeline || timeline.missing) {
      bar.replaceChildren(h("span", { class: "muted" }, timeline ? timeline.missing : "…"));
      legend.replaceChildren();
      rows.replaceChildren();
      $("timeline-total").textContent = "";
      return;
    }
    const now = Date.now();
    const steps = timeline.steps.map((step) => ({
      ...step,
      spent: step.seconds ?? Math.max(0, (now - Date.parse(step.enteredAt)) / 1000),
    }));
    // Consecutive steps of one phase make one segment (a clone's polls and waits alternate).
    const segments = [];
    for (const step of steps) {
      const last = segments[segments.length - 1];
      if (last && last.phase === step.phase) {
        last.seconds += step.spent;
        last.steps.push(step.step);
      } else segments.push({ phase: step.phase, seconds: step.spent, steps: [step.step] });
    }
    const total = segments.reduce((sum, seg) => sum + seg.seconds, 0) || 1;
    $("timeline-total").textContent = `${seconds(timeline.seconds)} in all, execution ${timeline.status.toLowerCase()}`;
    bar.setAttribute("role", "list");
    bar.setAttribute("aria-label", `Timeline of ${clone.cloneId}: ${seconds(timeline.seconds)}`);
    bar.replaceChildren(
      ...segments.map((seg) => {
        const [words, colour, light] = PHASES[seg.phase] || PHASES.other;
        const label = `${words}: ${seconds(seg.seconds)} (${[...new Set(seg.steps)].join(", ")})`;
        const wide = seg.seconds / total > 0.09;
        return h("div", {
          class: `seg${light ? " light" : ""}`, role: "listitem", tabindex: 0, title: label, "aria-label": label,
          "data-phase": seg.phase, "data-seconds": seg.seconds.toFixed(3),
          style: { flex: `${Math.max(seg.seconds, total * 0.004)} 1 0`, background: colour },
        }, wide ? `${words.split(" ").slice(-1)[0]} ${seconds(seg.seconds)}` : "");
      }),
    );
    legend.replaceChildren(
      ...Object.entries(timeline.phases)
        .filter(([, spent]) => spent > 0)
        .map(([phase, spent]) => {
          const [words, colour] = PHASES[phase] || PHASES.other;
          return h("li", { "data-phase": phase, "data-seconds": spent },
            h("span", { class: "swatch", style: { background: colour } }), `${words} ${seconds(spent)}`);
        }),
    );
    rows.replaceChildren(
      ...steps.map((step) =>
        h("tr", {},
          h("td", { class: "mono" }, step.step),
          h("td", {}, (PHASES[step.phase] || PHASES.other)[0]),
          h("td", {}, when(step.enteredAt)),
          h("td", { class: "num" }, step.seconds === null ? "running" : step.seconds.toFixed(2)),
          h("td", {}, step.outcome),
        ),
      ),
    );
  }

  function renderEvents(timeline, clone) {
    const list = $("events-list");
    const events = timeline && !timeline.missing ? timeline.events : [];
    const items = events.map((event) =>
      h("li", { "data-detail-type": event.detailType, "data-outcome": event.outcome },
        h("strong", {}, event.detailType), ` — ${event.outcome}, ${when(event.at)}, by the ${event.sentBy}`,
        event.eventId ? h("span", { class: "muted small" }, ` (event ${event.eventId})`) : null,
        h("details", {}, h("summary", {}, "what it carried"), h("pre", {}, JSON.stringify(event.detail, null, 2))),
      ),
    );
    // What the job says could not be published, when the timeline does not show it.
    for (const failure of clone.eventFailures || []) {
      if (!events.some((event) => event.detailType === failure.detailType && event.outcome !== "published")) {
        items.push(h("li", { "data-detail-type": failure.detailType, "data-outcome": "not published" },
          h("strong", {}, failure.detailType), ` — not published, ${when(failure.at)}: ${failure.error}`));
      }
    }
    if (!items.length) {
      items.push(h("li", { class: "muted" }, ENDED.includes(clone.status) ? "None." : "None yet: events go out when the clone ends (and when a store is made)."));
    }
    list.replaceChildren(...items);
  }

  async function loadMappingSamples(clone) {
    state.samplesLoaded = true;
    const groups = await Promise.all(
      ["products", "categories"].map((entity) =>
        api("GET", `/clones/${encodeURIComponent(clone.cloneId)}/mappings?entity=${entity}&limit=3`)),
    );
    const buttons = [];
    ["products", "categories"].forEach((entity, index) => {
      for (const mapping of groups[index].ok ? groups[index].data.mappings : []) {
        buttons.push(h("button", {
          type: "button", class: "sample", "data-entity": entity, "data-source-id": mapping.sourceId,
          onclick: () => {
            $("mapping-form").elements.entity.value = entity;
            $("mapping-source").value = mapping.sourceId;
            lookUp();
          },
        }, `${entity === "products" ? "product" : "category"} ${mapping.sourceId}`));
      }
    });
    $("mapping-samples").replaceChildren(...(buttons.length ? buttons : ["—"]));
    $("mapping-samples").className = "samples";
  }

  async function lookUp() {
    const form = $("mapping-form");
    const entity = form.elements.entity.value;
    const sourceId = form.elements.sourceId.value.trim();
    const result = $("mapping-result");
    result.className = "result bad";
    delete result.dataset.targetId;
    const clone = state.clone;
    if (!clone || !clone.targetStoreId) return (result.textContent = "This clone has no target store yet.");
    if (!/^[0-9]{1,20}$/.test(sourceId)) return (result.textContent = "Source ID: digits only, 1 to 20 of them.");
    const noun = entity === "products" ? "product" : "category";
    const answer = await api("GET", `/stores/${clone.targetStoreId}/mappings/${entity}/${sourceId}`);
    if (answer.status === 404) {
      result.textContent = `No source ${noun} ${sourceId} was cloned into store ${clone.targetStoreId}.`;
    } else if (!answer.ok) {
      result.textContent = problems(answer);
    } else {
      result.className = "result";
      result.dataset.targetId = answer.data.targetId;
      result.textContent = `Source ${noun} ${sourceId} → ${noun} ${answer.data.targetId} in store ${clone.targetStoreId}`;
    }
  }

  function retryDialog() {
    const clone = state.clone;
    const key = requestId();
    const body = h("div", {},
      h("p", {}, `${LABEL[clone.status]}`, clone.errorCode ? ` with ${clone.errorCode}` : "",
        clone.errorMessage ? `: ${clone.errorMessage}` : "."),
      h("p", { class: "muted" }, clone.targetStoreId
        ? `The new attempt clones store ${clone.sourceStoreId} into store ${clone.targetStoreId} again, with the same scope, options, merchant and profile.`
        : "The clone has no store: give the one made for the merchant (the reseller panel finds it by the e-mail), or leave it empty to make one."),
      clone.targetStoreId ? null : h("label", {}, "Target store ID", h("input", { id: "retry-target", inputmode: "numeric" })),
      h("label", { class: "inline" }, h("input", { type: "checkbox", id: "retry-confirm" }),
        "I checked the target store (emptied it, waited for Ecwid's ticket, or upgraded its plan)"),
    );
    confirmDialog({
      title: `Retry ${clone.cloneId}?`,
      body,
      ok: "Start the new attempt",
      run: async () => {
        const payload = { requestId: key };
        const target = $("retry-target")?.value.trim();
        if (target) {
          if (!/^[0-9]+$/.test(target)) return "Target store ID: a store ID, digits only.";
          payload.targetStoreId = Number(target);
        }
        if ($("retry-confirm").checked) payload.confirmTarget = true;
        const answer = await api("POST", `/clones/${encodeURIComponent(clone.cloneId)}/retry`, payload);
        if (!answer.ok) return problems(answer);
        notice(`Attempt ${answer.data.attempt} of ${clone.cloneId} started:`, false, cloneLink(answer.data.cloneId));
        location.hash = `#/clone/${encodeURIComponent(answer.data.cloneId)}`;
        return null;
      },
    });
  }

  function cancelDialog() {
    const clone = state.clone;
    const key = requestId();
    const started = ["QUEUED", "IN_PROGRESS"].includes(clone.status);
    const body = h("div", {},
      h("p", {}, `The clone is ${LABEL[clone.status].toLowerCase()}. Its execution stops, its slot or place in line is given back at once, and Clone Failed (CANCELLED) is published.`),
      started ? h("p", { class: "form-error" }, "Ecwid has its ticket already and cannot stop it: the target may still be filled.") : null,
      h("label", {}, "Reason (kept on the clone)", h("textarea", { id: "cancel-reason", rows: 2, maxlength: 500 })),
    );
    confirmDialog({
      title: `Cancel ${clone.cloneId}?`,
      body,
      ok: "Cancel the clone",
      danger: true,
      run: async () => {
        const reason = $("cancel-reason").value.trim();
        const answer = await api("POST", `/clones/${encodeURIComponent(clone.cloneId)}/cancel`,
          reason ? { reason, requestId: key } : { requestId: key });
        if (!answer.ok) return problems(answer);
        notice(`${clone.cloneId} cancelled.` + (answer.data.ecwidTicketMayComplete
          ? " Ecwid may still complete its ticket into the target: check it before a retry." : ""));
        refresh();
        return null;
      },
    });
  }

  // -- the dialog every action confirms in --------------------------------------------------------
  let pending = null;
  function confirmDialog({ title, body, ok, danger = false, disabled = false, run }) {
    const dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-body").replaceChildren(body);
    $("confirm-error").textContent = "";
    const button = $("confirm-ok");
    button.textContent = ok;
    button.className = danger ? "danger" : "primary";
    button.disabled = disabled;
    pending = run;
    dialog.showModal();
    const first = dialog.querySelector("#confirm-body input, #confirm-body textarea");
    (first || (disabled ? $("confirm-back") : button)).focus();
    return new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
  }
  async function confirmed(event) {
    event.preventDefault();
    const button = $("confirm-ok");
    if (!pending || button.disabled) return;
    button.disabled = true;
    try {
      const error = await pending();
      if (error) $("confirm-error").textContent = error;
      else $("confirm").close();
    } catch (failure) {
      $("confirm-error").textContent = failure.message;
    } finally {
      button.disabled = false;
    }
  }

  // -- the campaign -----------------------------------------------------------------------------
  function rateAt(index) {
    // Ecwid requests a (real) minute: the running total's rise over about the last minute.
    const now = state.samples[index];
    let from = null;
    for (let i = index - 1; i >= 0; i--) {
      from = state.samples[i];
      if (now.t - from.t >= RATE_WINDOW_MS) break;
    }
    if (!from || now.t - from.t < 1500) return null;
    return ((now.figures.budget.requestsBooked - from.figures.budget.requestsBooked) / (now.t - from.t)) * 60000;
  }

  function renderCampaign() {
    const samples = state.samples;
    const last = samples[samples.length - 1].figures;
    const select = $("campaign-since");
    if (select.value !== state.since) select.value = state.since;
    $("campaign-scope").textContent = `Clones created ${SINCE_WORDS[state.since]}; read every ${state.config.refreshSeconds} s since ${clock(samples[0].t)}`;
    const t0 = samples[0].t;
    const t1 = Math.max(samples[samples.length - 1].t, t0 + 60000);

    // Clones by status over time: stacked.
    const totals = GROUPS.map(([key, , , statuses]) => samples.map((sample) => [sample.t, statuses.reduce((sum, status) => sum + (sample.figures.counts[status] || 0), 0)]));
    const stacked = [];
    totals.forEach((series, g) => stacked.push(series.map(([t, v], i) => [t, v + (g ? stacked[g - 1][i][1] : 0)])));
    const groupNow = Object.fromEntries(GROUPS.map(([key], g) => [key, totals[g][totals[g].length - 1][1]]));
    chart($("chart-status"), {
      headline: [[number(groupNow.waiting), "waiting"], [number(groupNow.running), "running"], [number(groupNow.completed), "completed"], [number(groupNow.failed), "failed"]],
      figures: { running: last.running, completed: last.counts.COMPLETED },
      x: [t0, t1],
      yMax: stacked[stacked.length - 1].reduce((m, [, v]) => Math.max(m, v), 0),
      areas: GROUPS.map(([key, , colour], g) => ({ key, colour, points: stacked[g], base: g ? stacked[g - 1] : null })).reverse(),
      legend: GROUPS.map(([key, words, colour]) => ({ key, words, colour, value: groupNow[key] })),
      label: `Clones by status: ${GROUPS.map(([key, words]) => `${words.toLowerCase()} ${groupNow[key]}`).join(", ")}`,
    });

    // Slots in flight against the cap.
    const inFlight = samples.map((sample) => [sample.t, sample.figures.slots.inFlight]);
    chart($("chart-slots"), {
      headline: [[`${number(last.slots.inFlight)} of ${number(last.slots.max)}`, "in flight"]],
      figures: { inFlight: last.slots.inFlight, max: last.slots.max },
      x: [t0, t1],
      yMax: Math.max(last.slots.max, ...inFlight.map(([, v]) => v)),
      lines: [{ key: "inFlight", colour: "#0969da", points: inFlight }],
      limits: [{ value: last.slots.max, words: `MaxClonesInFlight ${number(last.slots.max)}` }],
      legend: [
        { key: "inFlight", words: "In flight", colour: "#0969da", value: last.slots.inFlight },
        { key: "max", words: "MaxClonesInFlight", colour: "#59636e", value: last.slots.max, dashed: true },
      ],
      label: `${last.slots.inFlight} clones in flight of at most ${last.slots.max}`,
    });

    // The line, and its projected drain.
    const waiting = samples.map((sample) => [sample.t, sample.figures.slots.waiting]);
    const drainMs = last.drain.seconds * 1000;
    const lastT = samples[samples.length - 1].t;
    const projectionEnd = Math.min(lastT + drainMs, lastT + Math.max(t1 - t0, 120000));
    const drainText = last.slots.waiting ? `drains in ${seconds(last.drain.seconds)}` : "no line";
    chart($("chart-line"), {
      headline: [[number(last.slots.waiting), "waiting"], [drainText, ""]],
      note: `Clones leave the line at about ${number(last.drain.clonesPerMinute)} a minute: the pace of the ${last.drain.limitedBy === "slots" ? "slots (each held about " + seconds(last.drain.slotSeconds) + ")" : "Ecwid budget (about 8 requests a clone)"}.`,
      figures: { waiting: last.slots.waiting, drainSeconds: last.drain.seconds },
      x: [t0, Math.max(t1, projectionEnd)],
      yMax: Math.max(...waiting.map(([, v]) => v)),
      lines: [{ key: "waiting", colour: "#bf8700", points: waiting }],
      projections: last.slots.waiting ? [{ colour: "#bf8700", points: [[lastT, last.slots.waiting], [projectionEnd, last.slots.waiting * (1 - (projectionEnd - lastT) / (drainMs || 1))]] }] : [],
      legend: [
        { key: "waiting", words: "Waiting for a slot", colour: "#bf8700", value: last.slots.waiting },
        { key: "drain", words: "Projected drain", colour: "#bf8700", value: seconds(last.drain.seconds), dashed: true },
      ],
      label: `${last.slots.waiting} clones waiting for a slot; ${drainText}`,
    });

    // Ecwid requests a minute against the budget.
    const rates = samples.map((sample, i) => [sample.t, rateAt(i)]).filter(([, v]) => v !== null);
    const rate = rates.length ? rates[rates.length - 1][1] : null;
    const budget = last.budget.perMinute / last.budget.timeScale;
    const highest = Math.max(1, ...rates.map(([, v]) => v));
    const budgetShown = budget <= highest * 4;
    chart($("chart-requests"), {
      headline: [[rate === null ? "measuring…" : number(Math.round(rate)), `a minute of ${number(Math.round(budget))}`]],
      figures: { requestsPerMinute: rate === null ? "" : Math.round(rate), budgetPerMinute: Math.round(budget), requestsBooked: last.budget.requestsBooked },
      x: [t0, t1],
      // The budget's line when the rate comes near it; far below it, the rate's own scale (said so).
      yMax: budgetShown ? Math.max(budget, highest) : highest * 1.3,
      lines: [{ key: "rate", colour: "#8250df", points: rates }],
      limits: budgetShown ? [{ value: budget, words: `budget ${number(Math.round(budget))} a minute` }] : [],
      caption: budgetShown ? null : `the budget, ${number(Math.round(budget))} a minute, is far above this scale`,
      legend: [
        { key: "rate", words: "Requests a minute", colour: "#8250df", value: rate === null ? "…" : Math.round(rate) },
        { key: "budget", words: "EcwidBudgetPerMinute", colour: "#59636e", value: Math.round(budget), dashed: true },
      ],
      label: `Ecwid requests a minute: ${rate === null ? "measuring" : Math.round(rate)} of a budget of ${Math.round(budget)}`,
    });
    $("campaign-note").textContent = last.budget.timeScale !== 1
      ? `The local stack runs at time scale ${last.budget.timeScale}: every wait, and Ecwid's minute, is that much shorter, so its budget of ${number(last.budget.perMinute)} a minute allows ${number(Math.round(budget))} a real minute. `
      : "";
  }

  function niceMax(value) {
    // Four equal steps of a round size (1, 2, 5 and, from 25 up, 2.5 times a power of ten): whole
    // numbers on every tick of a count.
    const step = Math.max(value * 1.1, 4) / 4; // room above the highest line; at least 1 a step
    const power = 10 ** Math.floor(Math.log10(step));
    for (const factor of [1, 2, 2.5, 5, 10]) {
      if (factor === 2.5 && power < 10) continue;
      if (factor * power >= step) return factor * power * 4;
    }
    return 40 * power;
  }

  function chart(figure, spec) {
    const plot = figure.querySelector(".plot");
    const W = 640, H = 168, L = 52, R = 14, T = 10, B = 24;
    const [x0, x1] = spec.x;
    const yMax = niceMax(spec.yMax || 0);
    const X = (t) => L + ((t - x0) / Math.max(1, x1 - x0)) * (W - L - R);
    const Y = (v) => T + (1 - v / yMax) * (H - T - B);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": spec.label });
    for (let i = 0; i <= 4; i++) {
      const v = (yMax / 4) * i;
      svg.append(s("line", { class: i ? "grid" : "axis", x1: L, x2: W - R, y1: Y(v), y2: Y(v) }));
      svg.append(s("text", { class: "tick", x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : +v.toFixed(1)));
    }
    for (let i = 0; i <= 3; i++) {
      const t = x0 + ((x1 - x0) / 3) * i;
      svg.append(s("text", { class: "tick", x: X(t), y: H - 6, "text-anchor": i === 0 ? "start" : i === 3 ? "end" : "middle" }, clock(t)));
    }
    const path = (points) => points.map(([t, v], i) => `${i ? "L" : "M"}${X(t).toFixed(1)},${Y(v).toFixed(1)}`).join(" ");
    for (const area of spec.areas || []) {
      const base = area.base || area.points.map(([t]) => [t, 0]);
      const d = `${path(area.points)} ${base.slice().reverse().map(([t, v]) => `L${X(t).toFixed(1)},${Y(v).toFixed(1)}`).join(" ")} Z`;
      svg.append(s("path", { d, fill: area.colour, "fill-opacity": 0.85, stroke: area.colour, "data-series": area.key }));
    }
    for (const limit of spec.limits || []) {
      svg.append(s("line", { class: "limit", x1: L, x2: W - R, y1: Y(limit.value), y2: Y(limit.value) }));
      svg.append(s("text", { class: "tick", x: W - R, y: Y(limit.value) - 5, "text-anchor": "end" }, limit.words));
    }
    for (const line of spec.lines || []) {
      if (line.points.length) svg.append(s("path", { class: "series", d: path(line.points), stroke: line.colour, "data-series": line.key }));
      const lastPoint = line.points[line.points.length - 1];
      if (lastPoint) svg.append(s("circle", { cx: X(lastPoint[0]), cy: Y(lastPoint[1]), r: 3.5, fill: line.colour }));
    }
    if (spec.caption) svg.append(s("text", { class: "tick", x: W - R, y: T + 10, "text-anchor": "end" }, `↑ ${spec.caption}`));
    for (const projection of spec.projections || []) {
      svg.append(s("path", { class: "projection", d: path(projection.points), stroke: projection.colour }));
    }
    const headline = h("p", { class: "headline" },
      ...spec.headline.flatMap(([value, words], i) => [i ? h("span", { class: "muted" }, " · ") : null, h("strong", {}, value), words ? ` ${words}` : ""]));
    const legend = h("ul", { class: "legend" },
      ...spec.legend.map((item) => h("li", { "data-series": item.key, "data-value": item.value },
        h("span", { class: item.dashed ? "swatch dashed" : "swatch", style: { background: item.colour } }),
        `${item.words} `, h("strong", {}, typeof item.value === "number" ? number(item.value) : item.value))));
    for (const [name, value] of Object.entries(spec.figures)) figure.dataset[name] = value;
    plot.replaceChildren(headline, spec.note ? h("p", { class: "muted small note" }, spec.note) : "", svg, legend);
  }

  // -- the forms and buttons ----------------------------------------------------------------------
  function syncFilterForm() {
    const form = $("filters");
    for (const name of ["errorCode", "sourceStoreId", "targetStoreId"]) form.elements[name].value = state.filters[name] || "";
    form.elements.since.value = state.since;
  }

  function wire() {
    $("error-codes").replaceChildren(...ERROR_CODES.map((code) => h("option", { value: code })));
    const sinceSelect = $("since").cloneNode(true);
    sinceSelect.id = "campaign-since";
    sinceSelect.removeAttribute("name");
    $("campaign-scope").before(h("label", {}, "Clones created", sinceSelect));
    sinceSelect.addEventListener("change", () => {
      state.since = sinceSelect.value;
      location.hash = "#/campaign" + (state.since === "24h" ? "" : `?since=${state.since}`);
    });

    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      const changes = { since: form.elements.since.value };
      const errors = [];
      for (const name of ["errorCode", "sourceStoreId", "targetStoreId"]) {
        const value = form.elements[name].value.trim();
        if (value && name.endsWith("StoreId") && !/^[1-9][0-9]*$/.test(value)) errors.push(`${name}: a store ID, digits only`);
        if (value && name === "errorCode" && !/^[A-Za-z0-9_.]{1,100}$/.test(value)) errors.push("errorCode: letters, digits and _ only");
        changes[name] = value || undefined;
      }
      $("filters-error").textContent = errors.join("\n");
      if (errors.length) return;
      state.since = changes.since;
      const next = { status: state.tab === "RUNNING" ? undefined : state.tab, ...changes };
      if (next.since === "24h") delete next.since;
      location.hash = "#/clones" + query(next);
    });
    $("filters-clear").addEventListener("click", () => {
      state.since = "24h";
      location.hash = "#/clones" + query({ status: state.tab === "RUNNING" ? undefined : state.tab });
    });
    $("page-older").addEventListener("click", () => {
      state.tokens[state.page + 1] = state.nextToken;
      state.page += 1;
      refresh();
    });
    $("page-newer").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); refresh(); });
    $("page-newest").addEventListener("click", () => { state.page = 0; refresh(); });
    $("bulk-button").addEventListener("click", () => startBulk().catch((error) => notice(error.message, true)));
    $("retry-button").addEventListener("click", retryDialog);
    $("cancel-button").addEventListener("click", cancelDialog);
    $("mapping-form").addEventListener("submit", (event) => { event.preventDefault(); lookUp(); });
    $("confirm-form").addEventListener("submit", confirmed);
    $("confirm-back").addEventListener("click", () => $("confirm").close());
    $("pause").addEventListener("click", () => {
      state.paused = !state.paused;
      $("pause").setAttribute("aria-pressed", String(state.paused));
      $("pause").textContent = state.paused ? "Resume updates" : "Pause updates";
      refresh();
    });

    const form = $("new-clone-form");
    form.addEventListener("change", () => {
      const into = form.elements.into.value;
      for (const label of form.querySelectorAll("[data-into]")) label.hidden = label.dataset.into !== into;
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const el = form.elements;
      const body = { sourceStoreId: Number(el.sourceStoreId.value.trim()) || el.sourceStoreId.value.trim() };
      if (el.into.value === "store") body.targetStoreId = Number(el.targetStoreId.value.trim()) || el.targetStoreId.value.trim();
      else body.merchant = { email: el.email.value.trim(), name: el.name.value.trim() };
      if (el.scope.value) body.scope = el.scope.value;
      if (el.instantSite.value) body.instantSite = { draft: el.instantSite.value === "draft" };
      body.requestId = form.dataset.requestId || (form.dataset.requestId = requestId());
      const answer = await api("POST", "/clones", body);
      if (!answer.ok) {
        $("new-clone-error").textContent = problems(answer);
        return;
      }
      delete form.dataset.requestId;
      $("new-clone-error").textContent = "";
      $("new-clone").open = false;
      notice(`Clone ${answer.data.cloneId} ${answer.status === 202 ? "started" : "was started before by this request"}:`, false, cloneLink(answer.data.cloneId));
      location.hash = `#/clone/${encodeURIComponent(answer.data.cloneId)}`;
    });
    form.addEventListener("input", () => delete form.dataset.requestId);
    window.addEventListener("hashchange", route);
    document.addEventListener("visibilitychange", () => { if (!document.hidden && !state.paused) refresh(); });
  }

  async function start() {
    try {
      state.config = { ...state.config, ...(await (await fetch("/config.json")).json()) };
    } catch (_) { /* the defaults do */ }
    $("where").textContent = state.config.mode === "local"
      ? `${state.config.api}`
      : `API ${state.config.api} · signed with ${state.config.auth} by the console on this machine`;
    wire();
    route();
  }
  document.addEventListener("DOMContentLoaded", start);
})();
