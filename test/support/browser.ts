import { accessSync, constants, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Web pages tested in a real browser: Debian's chromium (installed by .ci/run), driven by playwright-core. */

export type PhoneLocale = "zh-CN" | "en-US";

/** The committed screenshots are rewritten only when asked (UPDATE_SCREENSHOTS=1); otherwise they go to a temp folder. */
const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === "1"
    ? fileURLToPath(new URL("../../docs/screenshots/", import.meta.url))
    : join(tmpdir(), "loan-dunning-screenshots");

/**
 * The machine's network reaches only the package registries: without the background-networking flags chromium
 * keeps opening connections that are refused, and looks up Google's hosts at every start. GPU and QUIC are off
 * because there is neither a GPU nor a reachable UDP peer. No sandbox: CI runs as root.
 */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** `CHROMIUM_PATH`, else the first `chromium` on PATH, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, "chromium");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return "/usr/bin/chromium";
}

/** A headless chromium; playwright-core gives it a new empty profile of its own. Close it when done. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}

/** A context the size of a phone (390×844 CSS pixels at 2×, touch), in the borrower's language. */
export function phoneContext(browser: Browser, locale: PhoneLocale): Promise<BrowserContext> {
  return browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale,
  });
}

/** The whole page as <screenshots folder>/<name>.png; answers the file's path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`screenshot name must be a plain file name: ${name}`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A desktop-sized context for the ops console; CSP is bypassed only so the accessibility checker can be injected. */
export function desktopContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US", bypassCSP: true });
}

const AXE_SCRIPT = fileURLToPath(new URL("../../node_modules/axe-core/axe.min.js", import.meta.url));

/** The page's serious and critical accessibility violations, as axe-core finds them (WCAG 2.1 A and AA). */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE_SCRIPT });
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<AxeResult> } }
    ).axe;
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}, ${v.nodes} nodes)`);
}

interface AxeResult {
  violations: { id: string; impact: string | null; nodes: unknown[] }[];
}
