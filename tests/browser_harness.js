// The in-page half of tests/browser.py: loaded first in the page that holds the fragments, it
// replaces the dialog functions with recorders, notes what the markup declares, then touches
// every element and tells the driver it is done. Script execution is also seen from outside the
// page (the driver's debugger), so a payload that tampers with this file is caught anyway.
// A whole document (a page the server renders) is one fragment: its body; it is intact when
// each of its landmarks (CSS selectors, given by the driver) still matches exactly one element.
(() => {
  "use strict";
  const doneToken = document.currentScript.dataset.done;
  const settleMs = Number(document.currentScript.dataset.settle);
  const landmarks = document.currentScript.dataset.landmarks;
  const wholeDocument = landmarks !== undefined;
  const calls = [];
  const recorder = (name) =>
    function (...args) {
      calls.push(`${name}(${args.map(String).join(", ")})`);
    };
  for (const name of ["alert", "confirm", "prompt", "print"]) window[name] = recorder(name);
  // The sentinel a payload could call by name, from this page or from a frame (`top.xss()`).
  window.xss = recorder("xss");

  const sections = () =>
    wholeDocument ? [document.body] : Array.from(document.querySelectorAll("main > section"));
  const touched = wholeDocument ? "body *" : "main *";

  // What the markup itself declares, per fragment: the addresses its links lead to when clicked
  // and its images load. Anything else the page asks for was not declared by the markup.
  const declared = [];
  function noteDeclared() {
    sections().forEach((section, index) => {
      const entry = (declared[index] ??= { links: [], images: [] });
      for (const a of section.querySelectorAll("a[href]")) entry.links.push(a.href);
      for (const img of section.querySelectorAll("img[src]")) entry.images.push(img.src);
    });
  }

  // Each fragment sits in its own <section data-fragment="i">, in order; a fragment whose
  // markup broke out of its section (or swallowed the next ones) would go untested.
  const intact = () => {
    if (wholeDocument) {
      return landmarks
        .split("|")
        .every((selector) => document.querySelectorAll(selector).length === 1);
    }
    const count = Number(document.querySelector("main")?.dataset.fragments);
    const found = sections();
    return found.length === count && found.every((s, i) => s.dataset.fragment === String(i));
  };

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // A turn of the event loop without setTimeout's 4 ms clamp.
  const channel = new MessageChannel();
  const turn = () =>
    new Promise((resolve) => {
      channel.port1.onmessage = resolve;
      channel.port2.postMessage(null);
    });

  // Following an http(s) or mailto link is what a link is for, and declared by its href: the
  // click is noted and the page stays, to be watched further. Any other scheme (javascript:,
  // data:, vbscript:, ...) is left to the browser.
  const followed = [];
  window.addEventListener(
    "click",
    (event) => {
      const target = event.target instanceof Element ? event.target : null;
      const link = target?.closest("a[href], area[href]");
      if (link && ["http:", "https:", "mailto:"].includes(link.protocol)) {
        followed.push(link.href);
        event.preventDefault();
      }
    },
    true,
  );

  // Fires the event of each on* attribute an element has (onerror, onanimationstart, ontoggle,
  // onbegin, ...: whatever would wait for a particular moment). Markup can also add attributes
  // to <body> and <html>, whose handlers (onhashchange, onresize, onunload, ...) listen on window.
  function fireHandlers(element, ...targets) {
    for (const { name } of Array.from(element.attributes)) {
      const lower = name.toLowerCase();
      if (!lower.startsWith("on")) continue;
      for (const target of targets) {
        target.dispatchEvent(new Event(lower.slice(2), { bubbles: true, cancelable: true }));
      }
    }
  }

  // Hovers, focuses and clicks every element and fires its handlers, one element at a time so
  // that what a click starts (a javascript: URL) gets its turn.
  async function touchEverything() {
    fireHandlers(document.documentElement, document.documentElement, window);
    fireHandlers(document.body, document.body, window);
    for (const element of document.querySelectorAll(touched)) {
      fireHandlers(element, element);
      for (const type of ["mouseover", "mouseenter", "mousemove", "mousedown", "mouseup"]) {
        element.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true }));
      }
      if (typeof element.focus === "function") element.focus();
      if (typeof element.click === "function") element.click();
      else element.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true }));
      await turn();
    }
  }

  async function run() {
    try {
      const wasIntact = intact();
      noteDeclared();
      await touchEverything();
      // Then as a single-page frontend shows it (v-html, dangerouslySetInnerHTML): through
      // innerHTML, which also catches markup that changes when serialized and parsed again.
      for (const section of sections()) section.innerHTML = section.innerHTML;
      noteDeclared();
      await touchEverything();
      await pause(settleMs);
      report.intact = wasIntact && intact();
    } catch (error) {
      report.error = String(error);
    } finally {
      console.debug(doneToken);
    }
  }

  const report = { calls, declared, followed, intact: false, error: null };
  Object.defineProperty(window, "__harness", { value: Object.freeze({ report: () => report }) });
  window.addEventListener("load", () => run());
})();
