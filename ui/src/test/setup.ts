import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => {
  cleanup();
  if (typeof window !== "undefined") window.localStorage.clear();
});

if (typeof window !== "undefined") giveScrollingLogsALayout();

/**
 * jsdom lays nothing out: every box is 0×0 and `scrollTo` does not exist. The windowed message
 * list needs a viewport to decide which rows to render, so a scrolling log (`role="log"`) gets
 * one of VIEWPORT's size, its content is as tall as its tallest child's inline height (the
 * list's sizer), and `scrollTo` moves `scrollTop` within that range and reports the move with a
 * later scroll event, as a browser does. Rows still measure 0 and so keep their estimated heights.
 */
function giveScrollingLogsALayout() {
  const VIEWPORT = { width: 800, height: 500 };
  const isLog = (element: Element) => element.getAttribute("role") === "log";
  const contentHeight = (element: Element) =>
    Math.max(
      VIEWPORT.height,
      ...[...element.children].map(
        (child) => Number.parseFloat((child as HTMLElement).style.height) || 0,
      ),
    );
  const sized = (size: (element: Element) => number) => ({
    configurable: true,
    get(this: Element) {
      return isLog(this) ? size(this) : 0;
    },
  });
  Object.defineProperties(HTMLElement.prototype, {
    clientWidth: sized(() => VIEWPORT.width),
    clientHeight: sized(() => VIEWPORT.height),
    scrollWidth: sized(() => VIEWPORT.width),
    scrollHeight: sized(contentHeight),
  });

  const boundingRect = Element.prototype.getBoundingClientRect;
  Element.prototype.getBoundingClientRect = function (this: Element) {
    return isLog(this)
      ? new DOMRect(0, 0, VIEWPORT.width, VIEWPORT.height)
      : boundingRect.call(this);
  };

  Element.prototype.scrollTo = function (
    this: Element,
    optionsOrX?: ScrollToOptions | number,
    y?: number,
  ) {
    const top = typeof optionsOrX === "object" ? optionsOrX.top : y;
    if (top === undefined) return;
    const max = Math.max(0, this.scrollHeight - this.clientHeight);
    const next = Math.min(Math.max(0, top), max);
    if (next === this.scrollTop) return;
    this.scrollTop = next;
    queueMicrotask(() => this.dispatchEvent(new Event("scroll")));
  };
}
