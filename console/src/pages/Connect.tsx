import { useEffect, useState } from 'react';
import { admin, ApiError, get } from '../api';
import { href } from '../router';
import { ErrorNote } from '../ui';

interface Project {
  id: string;
  name: string;
  organization_id: string;
}
interface CloudSettings {
  url: string;
  credentials: Record<string, string> | null;
  credential_ids: string[];
  projects?: Project[];
}
interface Connect {
  account_id: string;
  name: string;
  base_url: string;
  clouds: { genesis?: CloudSettings; crusoe?: CloudSettings };
}
interface Account {
  id: string;
  name: string;
}

/** Where a secret the page does not know goes: the user pastes theirs, or issues one here. */
const TOKEN = '<genesis token>';
const ACCESS = '<crusoe access key>';
const SECRET = '<crusoe secret key>';

interface Snippet {
  id: string;
  title: string;
  language: string;
  text: string;
  note?: string;
}

/** The settings each client reads, as the README's "Point your client at Hangar" table gives them. */
export function snippets(c: Connect, genesisToken: string | null, crusoe: { access_key: string; secret_key: string } | null, project: Project | null): Snippet[] {
  const g = c.clouds.genesis;
  const k = c.clouds.crusoe;
  const out: Snippet[] = [];
  const token = genesisToken ?? TOKEN;
  const access = crusoe?.access_key ?? ACCESS;
  const secret = crusoe?.secret_key ?? SECRET;
  const projectId = project?.id ?? '<project id>';
  if (g) {
    out.push({
      id: 'curl-genesis',
      title: 'curl (Genesis Cloud)',
      language: 'sh',
      text: `export GENESISCLOUD_ENDPOINT=${g.url}\nexport GENESISCLOUD_TOKEN=${token}\ncurl -s -H "Authorization: Bearer $GENESISCLOUD_TOKEN" "$GENESISCLOUD_ENDPOINT/instances"`,
    });
  }
  if (k) {
    out.push({
      id: 'curl-crusoe',
      title: 'curl (Crusoe Cloud, signed by scripts/crusoe-curl.sh)',
      language: 'sh',
      text: `export CRUSOE_API_ENDPOINT=${k.url}\nexport CRUSOE_ACCESS_KEY_ID=${access}\nexport CRUSOE_SECRET_KEY=${secret}\nexport CRUSOE_DEFAULT_PROJECT=${projectId}\nscripts/crusoe-curl.sh GET "/projects/$CRUSOE_DEFAULT_PROJECT/compute/vms/instances"`,
      note: "Crusoe signs every request with the secret key: scripts/crusoe-curl.sh (in Hangar's repository) does it with openssl.",
    });
  }
  if (g) {
    out.push({
      id: 'genesiscloud-js',
      title: 'genesiscloud-js',
      language: 'js',
      text: `const client = new GenesisCloudClient({\n  BASE: '${g.url}',\n  TOKEN: '${token}',\n});`,
      note: 'Sent as Authorization: Bearer. The package is installed from its repository (it is not on the npm registry).',
    });
    out.push({
      id: 'genesiscloud-go',
      title: 'genesiscloud-go',
      language: 'go',
      note: 'Sent as X-Auth-Token, which Hangar accepts.',
      text: `genesiscloud.NewGenesisCloudClient(genesiscloud.ClientConfig{\n\tEndpoint: "${g.url}",\n\tToken:    "${token}",\n})`,
    });
  }
  if (k) {
    out.push({
      id: 'crusoe-client-go',
      title: 'crusoecloud/client-go',
      language: 'go',
      text: `// import swagger "github.com/crusoecloud/client-go/swagger/v1alpha5"\ncfg := auth.NewAuthenticatedConfig("${access}", "${secret}")\ncfg.BasePath = "${k.url}"\nclient := swagger.NewAPIClient(cfg)`,
      note: 'NewAuthenticatedConfig installs the signing transport (auth.NewAuthenticatingTransport) on http.DefaultClient.',
    });
    out.push({
      id: 'dstack',
      title: "dstack's Crusoe backend",
      language: 'yaml',
      text: `# ~/.dstack/server/config.yml\nprojects:\n  - name: main\n    backends:\n      - type: crusoe\n        project_id: ${projectId}\n        creds:\n          type: access_key\n          access_key: ${access}\n          secret_key: ${secret}\n\n# sitecustomize.py on the dstack server's PYTHONPATH: its API address is a constant\nimport dstack._internal.core.backends.crusoe.resources as crusoe\ncrusoe.API_URL = "${c.base_url}"`,
      note: 'dstack appends /v1alpha5 to API_URL itself; set it before the server starts.',
    });
  }
  if (g) {
    out.push({
      id: 'terraform-genesis',
      title: 'Terraform: Genesis Cloud provider',
      language: 'hcl',
      text: `provider "genesiscloud" {\n  endpoint = "${g.url}"\n  token    = "${token}"\n}`,
      note: 'Or GENESISCLOUD_ENDPOINT and GENESISCLOUD_TOKEN in the environment.',
    });
  }
  if (k) {
    out.push({
      id: 'terraform-crusoe',
      title: 'Terraform: Crusoe provider (and the crusoe CLI)',
      language: 'toml',
      text: `# ~/.crusoe/config\n[default]\napi_endpoint = "${k.url}"\naccess_key_id = "${access}"\nsecret_key = "${secret}"\ndefault_project = "${projectId}"\n\n# or in Terraform\nprovider "crusoe" {\n  api_endpoint = "${k.url}"\n}`,
      note: 'Use a release that speaks v1alpha5: recent ones default to the newer /v1 API, which Hangar does not serve.',
    });
  }
  return out;
}

/** Ready-to-copy settings for each client, with the account's real credentials filled in. */
export function ConnectPage({ accountId }: { accountId: string | null }) {
  const [accounts, setAccounts] = useState<Account[] | null>(null);
  const [connect, setConnect] = useState<Connect | null>(null);
  const [issued, setIssued] = useState<{ genesis?: string; crusoe?: { access_key: string; secret_key: string } }>({});
  const [projectId, setProjectId] = useState<string>('');
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    get<{ accounts: Account[] }>('/accounts').then((r) => setAccounts(r.accounts), setError);
  }, []);
  const chosen = accountId ?? accounts?.find((a) => a.name === 'demo')?.id ?? accounts?.[0]?.id ?? null;
  useEffect(() => {
    if (!chosen) return;
    setConnect(null);
    setIssued({});
    setNote(null);
    get<Connect>(`/accounts/${encodeURIComponent(chosen)}/connect`).then((c) => {
      setConnect(c);
      setProjectId(c.clouds.crusoe?.projects?.[0]?.id ?? '');
    }, setError);
  }, [chosen]);

  const issue = async () => {
    if (!connect) return;
    const said: string[] = [];
    const next = { ...issued };
    for (const cloud of ['genesis', 'crusoe'] as const) {
      if (!connect.clouds[cloud] || connect.clouds[cloud]!.credentials) continue;
      try {
        const made = await admin<Record<string, string>>('POST', `/accounts/${connect.account_id}/credentials`, { cloud });
        if (cloud === 'genesis') next.genesis = made.token;
        else next.crusoe = { access_key: made.access_key!, secret_key: made.secret_key! };
        said.push(`a new ${cloud} credential`);
      } catch (err) {
        if (err instanceof ApiError && err.status === 400) said.push(`no ${cloud} credential (this Hangar's admin API cannot issue one: use the keys printed when the account was created)`);
        else setError(err);
      }
    }
    setIssued(next);
    setNote(`Issued ${said.join('; ')}. The secrets are shown on this page only, once: Hangar keeps only their hashes or sealed copies. Revoke them on the account's page.`);
  };

  const project = connect?.clouds.crusoe?.projects?.find((p) => p.id === projectId) ?? null;
  const genesisToken = connect?.clouds.genesis?.credentials?.token ?? issued.genesis ?? null;
  const crusoeKeys = (connect?.clouds.crusoe?.credentials as { access_key: string; secret_key: string } | null | undefined) ?? issued.crusoe ?? null;
  const missing = connect !== null && ((connect.clouds.genesis && !genesisToken) || (connect.clouds.crusoe && !crusoeKeys));

  return (
    <section aria-labelledby="connect-title">
      <div className="page-head">
        <h1 id="connect-title">Connect</h1>
        {accounts && (
          <label className="inline-select">
            Account
            <select
              aria-label="Account"
              value={chosen ?? ''}
              onChange={(e) => {
                location.hash = href('connect', e.target.value);
              }}
            >
              {accounts.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {connect?.clouds.crusoe?.projects && connect.clouds.crusoe.projects.length > 1 && (
          <label className="inline-select">
            Crusoe project
            <select aria-label="Crusoe project" value={projectId} onChange={(e) => setProjectId(e.target.value)}>
              {connect.clouds.crusoe.projects.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <ErrorNote error={error} />
      {!connect ? (
        !error && <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <p className="muted">
            Each client keeps its own code; only its endpoint and credentials change.{' '}
            {missing ? (
              <>Hangar keeps no readable copy of this account's secrets (they were shown when it was created), so the settings below hold placeholders.</>
            ) : (
              <>The credentials below are this account's, filled in.</>
            )}
          </p>
          {missing && (
            <p>
              <button type="button" onClick={issue} data-testid="issue">
                Issue new credentials and fill them in
              </button>
            </p>
          )}
          <p role="status" data-testid="connect-note">
            {note}
          </p>
          <div className="snippets">
            {snippets(connect, genesisToken, crusoeKeys, project).map((s) => (
              <SnippetCard key={s.id} snippet={s} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}

function SnippetCard({ snippet }: { snippet: Snippet }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(snippet.text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // No clipboard (an insecure origin): select the text for the user to copy.
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(`snippet-${snippet.id}`)!);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
    }
  };
  return (
    <article className="snippet" aria-labelledby={`snippet-${snippet.id}-title`} data-snippet={snippet.id}>
      <header className="snippet-head">
        <h2 id={`snippet-${snippet.id}-title`}>{snippet.title}</h2>
        <button type="button" className="outline small" onClick={copy} aria-label={`Copy ${snippet.title}`}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </header>
      <pre className="json" id={`snippet-${snippet.id}`} data-language={snippet.language}>
        {snippet.text}
      </pre>
      {snippet.note && <p className="muted small-note">{snippet.note}</p>}
    </article>
  );
}
