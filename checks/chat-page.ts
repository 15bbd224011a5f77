/**
 * llama.cpp's chat page in a real browser: Chromium, headless, driven by playwright-core (the
 * machine's own browser; nothing downloaded), loads the page, enters the API key where the server
 * asks for one (the page's own key prompt, as a user would), asks the guide's question and waits
 * for the answer to be rendered. A screenshot of the answer goes to build/<profile>/chat-page.png.
 * The plain HTTP side of the page (it is served, its scripts load without a key, the API does not)
 * is conformance.ts's `chat page` check.
 */
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { join } from 'node:path';
import { GUIDE_PROMPT } from '../scripts/lib/guide.ts';
import { which } from '../scripts/lib/process/run.ts';
import { serverApiKey } from '../scripts/lib/state/secrets.ts';
import { expect, skip, type Check } from './report.ts';
import type { Plan } from '../scripts/lib/plan/index.ts';
import { originOf } from '../scripts/lib/origin.ts';

/** The browser: $CHROMIUM, else Debian's chromium, Ubuntu's chromium-browser, Google Chrome. */
export function findChromium(env: Record<string, string | undefined> = process.env): string | undefined {
  if (env.CHROMIUM) return existsSync(env.CHROMIUM) ? env.CHROMIUM : undefined;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    const found = which(name, env.PATH ?? '');
    if (found) return found;
  }
  return undefined;
}

/**
 * Flags for a headless run on a machine that may have no network beyond localhost: no sign-in,
 * sync, component updates or other background fetches (refused one by one on a closed network),
 * no GPU. The sandbox is off: as root Chromium refuses to start with it.
 */
const CHROMIUM_FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/**
 * Ends the answer with the page's Stop button, as a user would, and waits for the server to
 * confirm it. Closing the page would not: the page sends X-Conversation-Id, and llama-server keeps
 * generating such a stream after its client is gone, until the answer ends (its resumable streams,
 * tools/server/server-stream.cpp: only `DELETE /v1/stream`, which Stop sends, cancels one). With
 * no token limit that is up to the slot's whole context: minutes of every core, which made every
 * later check of a smoke run slower and, after a few runs, left no slot free for the next page.
 */
async function stopAnswer(page: Page): Promise<string> {
  const stop = page.getByRole('button', { name: 'Stop', exact: true });
  if (!(await stop.isVisible())) return 'the answer had ended';
  const cancelled = page.waitForResponse((response) => response.request().method() === 'DELETE' && new URL(response.url()).pathname === '/v1/stream', { timeout: 10_000 });
  try {
    await stop.click({ timeout: 5_000 });
  } catch {
    // The answer ended between the look and the click: the button is gone, nothing runs on.
    if (!(await stop.isVisible())) return 'the answer had ended';
    throw new Error('the page\'s Stop button could not be clicked while the answer was still streaming');
  }
  const response = await cancelled.catch(() => undefined);
  expect(response !== undefined, 'the page\'s Stop button sent no DELETE /v1/stream within 10 s: the answer would go on on the server after the page closed');
  expect(response!.status() < 300, `DELETE /v1/stream answered HTTP ${response!.status()}: the server did not cancel the answer`);
  return `stopped with its Stop button (DELETE /v1/stream: ${response!.status()})`;
}

export function chatPageBrowserCheck(plan: Plan, options: { timeoutMs: number }): Check {
  return {
    name: 'chat page (browser)',
    async run() {
      const chromium = findChromium();
      if (!chromium) skip('no Chromium here (apt-get install chromium, or CHROMIUM=/path/to/chrome)');
      const { chromium: driver } = await import('playwright-core');
      const browser = await driver.launch({ executablePath: chromium, headless: true, args: CHROMIUM_FLAGS, timeout: options.timeoutMs });
      try {
        // No service worker: the page's offline cache would outlive this run in a real profile; here every run starts clean.
        const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 1100, height: 800 } });
        const page = await context.newPage();
        page.setDefaultTimeout(options.timeoutMs);
        const origin = originOf(plan.server.baseUrl);
        await page.goto(`${origin}/`);
        const key = serverApiKey(plan);
        let keyNote = '';
        if (key) {
          // The page asks for the key itself (its "Enter API Key" splash) and keeps it in the browser's storage.
          await page.getByRole('button', { name: 'Enter API Key' }).click();
          await page.locator('#api-key-input').fill(key);
          await page.locator('#api-key-input').press('Enter');
          keyNote = ', the key entered in its prompt';
        }
        const input = page.locator('textarea').first();
        await input.fill(GUIDE_PROMPT);
        await input.press('Enter');
        // The answer's own text (what the page renders from it: markdown, a code block still
        // streaming), not the "Processing" line shown before it.
        const answer = page.locator('.chat-message-assistant .markdown-content');
        // An answer rendered: its first words on the page, then a few seconds more of it (the page
        // sets no token limit, so the whole answer could take minutes on a busy machine).
        await answer.filter({ hasText: /\S/ }).first().waitFor();
        const seen = async () => (await answer.allInnerTexts()).join('\n').trim();
        for (const until = Date.now() + 10_000; (await seen()).length < 40 && Date.now() < until; ) await page.waitForTimeout(250);
        const text = await seen();
        expect(text.length > 0, 'the page rendered an empty answer');
        const shot = join(plan.paths.buildDir, 'chat-page.png');
        await page.screenshot({ path: shot, fullPage: true });
        const ended = await stopAnswer(page);
        return `an answer rendered (${text.length} characters seen) in ${chromium}${keyNote}; ${ended}; screenshot ${shot}`;
      } finally {
        await browser.close();
      }
    },
  };
}
