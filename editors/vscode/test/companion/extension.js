// A stand-in for an agent (Copilot's agent mode, say): it finds sandbar's
// tool among vscode.lm.tools and calls it with vscode.lm.invokeTool, then
// shows what the tool returned in an editor for the test to read. Only the
// browser tests install it.

const vscode = require('vscode');

exports.activate = (context) => {
  context.subscriptions.push(
    vscode.commands.registerCommand('sandbarTest.invokeTool', async (command) => {
      if (typeof command !== 'string') {
        command = await vscode.window.showInputBox({ title: 'Command for sandbar_run' });
        if (command === undefined) return;
      }
      const tool = vscode.lm.tools.find((t) => t.name === 'sandbar_run');
      let text;
      if (!tool) {
        text = `NO TOOL: sandbar_run is not among ${vscode.lm.tools.map((t) => t.name).join(', ')}`;
      } else {
        try {
          const cts = new vscode.CancellationTokenSource();
          const result = await vscode.lm.invokeTool('sandbar_run', { input: { command }, toolInvocationToken: undefined }, cts.token);
          const parts = result.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : JSON.stringify(p)));
          text = `TOOL RESULT (${tool.name}, tags: ${tool.tags.join(' ')})\n${parts.join('\n')}`;
        } catch (e) {
          text = `TOOL ERROR: ${e && e.message ? e.message : e}`;
        }
      }
      const doc = await vscode.workspace.openTextDocument({ content: text, language: 'plaintext' });
      await vscode.window.showTextDocument(doc);
      return text;
    }),
  );
};

// Changes a user setting of sandbar's ("approvals.modal=true"), as the
// Settings editor would, and says when the extension host sees it.
exports.activate = ((activate) => (context) => {
  activate(context);
  context.subscriptions.push(
    vscode.commands.registerCommand('sandbarTest.setSetting', async (assignment) => {
      if (typeof assignment !== 'string') {
        assignment = await vscode.window.showInputBox({ title: 'sandbar setting: key=JSON value' });
        if (assignment === undefined) return;
      }
      const [key, value] = assignment.split(/=(.*)/s);
      const config = () => vscode.workspace.getConfiguration('sandbar');
      await config().update(key, JSON.parse(value), vscode.ConfigurationTarget.Global);
      void vscode.window.showInformationMessage(`SETTING sandbar.${key} is ${JSON.stringify(config().get(key))}`);
    }),
  );
})(exports.activate);

exports.deactivate = () => {};
