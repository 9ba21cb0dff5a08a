// How the host's questions (window/showMessageRequest) are shown. Every
// prompt's last action is its "no" (Deny, Not now): as a modal dialog's
// close affordance it replaces VS Code's own Cancel button, so that the
// dialog offers exactly the host's choices. Dismissing a notification or
// a dialog answers null, which the host counts as that last action.

import type { MessageActionItem } from './protocol';

export interface PromptItem {
  title: string;
  isCloseAffordance?: boolean;
}

export function promptItems(actions: MessageActionItem[] | undefined, modal: boolean): PromptItem[] {
  const list = actions ?? [];
  return list.map((a, i) => (modal && i === list.length - 1 && list.length > 1 ? { title: a.title, isCloseAffordance: true } : { title: a.title }));
}

/** The answer to send: the chosen action as the host offered it, or null. */
export function answer(actions: MessageActionItem[] | undefined, chosen: { title: string } | undefined): MessageActionItem | null {
  if (!chosen) return null;
  return (actions ?? []).find((a) => a.title === chosen.title) ?? null;
}

/**
 * A modal dialog shows its first line as the title and the rest as detail:
 * the host's question is one paragraph, so the first sentence is the
 * title.
 */
export function splitMessage(message: string): { title: string; detail?: string } {
  const nl = message.indexOf('\n');
  if (nl >= 0) return { title: message.slice(0, nl), detail: message.slice(nl + 1).trim() || undefined };
  const m = /^(.*?[.?!])\s+(\S.*)$/s.exec(message);
  if (m && m[1].length >= 20) return { title: m[1], detail: m[2] };
  return { title: message };
}
