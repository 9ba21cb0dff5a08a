// Read-only documents the extension shows: the effective policy, the audit
// log and the doctor's report, under the sandbar: scheme.

import * as vscode from 'vscode';

export const scheme = 'sandbar';

export class Documents implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.path) ?? '';
  }

  /** Shows text as the document named name (with its extension for the language). */
  async show(name: string, text: string, language?: string): Promise<vscode.TextEditor> {
    const uri = vscode.Uri.from({ scheme, path: '/' + name });
    this.texts.set(uri.path, text);
    this.emitter.fire(uri);
    let doc = await vscode.workspace.openTextDocument(uri);
    if (language && doc.languageId !== language) doc = await vscode.languages.setTextDocumentLanguage(doc, language);
    return vscode.window.showTextDocument(doc, { preview: false });
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
