/**
 * Onboarding: create an identity (the recovery phrase is shown once and some words confirmed), restore one from its
 * phrase, or unlock a stored one. The phrase is encrypted under a passphrase (scrypt + AES-GCM) before it is stored.
 */
import { generateMnemonic, type Identity, identityFromMnemonic } from '@medbloc/core/portable';
import { createRecoveryKey, recoverIdentity, requestRecovery } from '@medbloc/sdk';
import { type FormEvent, useMemo, useRef, useState } from 'react';
import { isAddress } from 'viem';
import { nodeUrl } from '../lib/session.ts';
import { listVault, saveIdentity, unlock, type VaultEntry } from '../lib/vault.ts';
import { Addr, ErrorBox, keyCode, useAction } from '../ui/bits.tsx';

type Step = 'welcome' | 'create' | 'confirm' | 'protect' | 'restore' | 'guardians';

export function Onboarding({ onUnlocked }: { onUnlocked: (id: Identity) => void }) {
  const [vault, setVault] = useState<VaultEntry[]>(() => listVault());
  const [step, setStep] = useState<Step>(vault.length ? 'welcome' : 'welcome');
  const [mnemonic, setMnemonic] = useState('');

  return (
    <main className="onboarding" id="main">
      <header className="hero">
        <h1>MedBloc</h1>
        <p>Your medical records, sealed on this device. Only you hold the keys.</p>
      </header>
      {step === 'welcome' && (
        <Welcome
          vault={vault}
          onUnlocked={onUnlocked}
          onCreate={() => {
            setMnemonic(generateMnemonic());
            setStep('create');
          }}
          onRestore={() => setStep('restore')}
          onGuardians={() => setStep('guardians')}
          onForget={() => setVault(listVault())}
        />
      )}
      {step === 'create' && (
        <ShowPhrase mnemonic={mnemonic} onBack={() => setStep('welcome')} onNext={() => setStep('confirm')} />
      )}
      {step === 'confirm' && (
        <ConfirmPhrase
          mnemonic={mnemonic}
          onBack={() => setStep('create')}
          onNext={() => setStep('protect')}
        />
      )}
      {step === 'protect' && (
        <Protect
          mnemonic={mnemonic}
          onBack={() => setStep('welcome')}
          onDone={(id) => {
            setMnemonic('');
            onUnlocked(id);
          }}
        />
      )}
      {step === 'restore' && <Restore onBack={() => setStep('welcome')} onDone={onUnlocked} />}
      {step === 'guardians' && <RecoverWithGuardians onBack={() => setStep('welcome')} onDone={onUnlocked} />}
    </main>
  );
}

function Welcome(props: {
  vault: VaultEntry[];
  onUnlocked: (id: Identity) => void;
  onCreate: () => void;
  onRestore: () => void;
  onGuardians: () => void;
  onForget: () => void;
}) {
  return (
    <>
      {props.vault.length > 0 && (
        <section className="card" aria-labelledby="unlock-h">
          <h2 id="unlock-h">Unlock</h2>
          {props.vault.map((e) => (
            <UnlockForm key={e.address} entry={e} onUnlocked={props.onUnlocked} />
          ))}
        </section>
      )}
      <section className="card" aria-labelledby="start-h">
        <h2 id="start-h">{props.vault.length ? 'Another identity' : 'Get started'}</h2>
        <p>
          A MedBloc identity is a 12-word recovery phrase. It creates your signing key and your encryption key
          here in the browser; nothing secret is ever sent to the node.
        </p>
        <div className="actions">
          <button type="button" className="primary" onClick={props.onCreate}>
            Create a new identity
          </button>
          <button type="button" onClick={props.onRestore}>
            Restore from a recovery phrase
          </button>
          <button type="button" onClick={props.onGuardians}>
            Lost your phrase? Recover with your guardians
          </button>
        </div>
      </section>
    </>
  );
}

function UnlockForm({ entry, onUnlocked }: { entry: VaultEntry; onUnlocked: (id: Identity) => void }) {
  const [pass, setPass] = useState('');
  const { run, busy, error } = useAction(async () => onUnlocked(await unlock(entry.address, pass)));
  const id = `pass-${entry.address}`;
  return (
    <form
      className="unlock"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <p className="who">
        <strong>{entry.label}</strong> <Addr value={entry.address} />
      </p>
      <label htmlFor={id}>Passphrase</label>
      <div className="row">
        <input
          id={id}
          type="password"
          autoComplete="current-password"
          value={pass}
          onChange={(e) => setPass(e.target.value)}
          aria-describedby={error ? `${id}-err` : undefined}
          required
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Unlocking…' : 'Unlock'}
        </button>
      </div>
      <ErrorBox error={error} id={`${id}-err`} />
    </form>
  );
}

function ShowPhrase({
  mnemonic,
  onBack,
  onNext,
}: {
  mnemonic: string;
  onBack: () => void;
  onNext: () => void;
}) {
  const [saved, setSaved] = useState(false);
  const words = mnemonic.split(' ');
  return (
    <section className="card" aria-labelledby="phrase-h">
      <h2 id="phrase-h">Your recovery phrase</h2>
      <p>
        Write these 12 words down, in order, and keep them somewhere safe and offline. They are shown only
        now. Anyone with them can read your records; without them, nobody — not even MedBloc — can recover
        your account.
      </p>
      <ol className="phrase" data-testid="mnemonic">
        {words.map((w, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the position is the identity of a word
          <li key={i}>
            <span className="n">{i + 1}</span> <span className="w">{w}</span>
          </li>
        ))}
      </ol>
      <label className="check">
        <input type="checkbox" checked={saved} onChange={(e) => setSaved(e.target.checked)} /> I have written
        down my recovery phrase
      </label>
      <div className="actions">
        <button type="button" onClick={onBack}>
          Cancel
        </button>
        <button type="button" className="primary" disabled={!saved} onClick={onNext}>
          Continue
        </button>
      </div>
    </section>
  );
}

function ConfirmPhrase({
  mnemonic,
  onBack,
  onNext,
}: {
  mnemonic: string;
  onBack: () => void;
  onNext: () => void;
}) {
  const words = mnemonic.split(' ');
  const positions = useMemo(() => {
    const picks = new Set<number>();
    const rnd = new Uint32Array(16);
    crypto.getRandomValues(rnd);
    for (const r of rnd) {
      picks.add(r % words.length);
      if (picks.size === 3) break;
    }
    return [...picks].sort((a, b) => a - b);
  }, [words.length]);
  const [answers, setAnswers] = useState<Record<number, string>>({});
  const [wrong, setWrong] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const ok = positions.every((p) => (answers[p] ?? '').trim().toLowerCase() === words[p]);
    setWrong(!ok);
    if (ok) onNext();
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="confirm-h">
      <h2 id="confirm-h">Confirm your phrase</h2>
      <p>Type the words at these positions, to be sure you have them.</p>
      {positions.map((p) => (
        <div className="field" key={p}>
          <label htmlFor={`word-${p + 1}`}>Word #{p + 1}</label>
          <input
            id={`word-${p + 1}`}
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            value={answers[p] ?? ''}
            onChange={(e) => setAnswers({ ...answers, [p]: e.target.value })}
            required
          />
        </div>
      ))}
      {wrong && (
        <div className="alert alert-error" role="alert">
          <strong>Those words do not match.</strong> Check your written copy and try again.
        </div>
      )}
      <div className="actions">
        <button type="button" onClick={onBack}>
          Show the phrase again
        </button>
        <button type="submit" className="primary">
          Confirm
        </button>
      </div>
    </form>
  );
}

function PassphraseFields({
  pass,
  setPass,
  again,
  setAgain,
  label,
  setLabel,
}: {
  pass: string;
  setPass: (s: string) => void;
  again: string;
  setAgain: (s: string) => void;
  label: string;
  setLabel: (s: string) => void;
}) {
  return (
    <>
      <div className="field">
        <label htmlFor="label">Name for this key (only stored in this browser)</label>
        <input id="label" value={label} onChange={(e) => setLabel(e.target.value)} maxLength={60} />
      </div>
      <div className="field">
        <label htmlFor="new-pass">Passphrase (at least 8 characters)</label>
        <input
          id="new-pass"
          type="password"
          autoComplete="new-password"
          minLength={8}
          value={pass}
          onChange={(e) => setPass(e.target.value)}
          required
        />
      </div>
      <div className="field">
        <label htmlFor="new-pass-again">Repeat the passphrase</label>
        <input
          id="new-pass-again"
          type="password"
          autoComplete="new-password"
          minLength={8}
          value={again}
          onChange={(e) => setAgain(e.target.value)}
          required
        />
      </div>
    </>
  );
}

function checkPassphrase(pass: string, again: string) {
  if (pass.length < 8) throw Object.assign(new Error('Use at least 8 characters.'), { name: 'InputError' });
  if (pass !== again) throw Object.assign(new Error('The two passphrases differ.'), { name: 'InputError' });
}

function Protect({
  mnemonic,
  onBack,
  onDone,
}: {
  mnemonic: string;
  onBack: () => void;
  onDone: (id: Identity) => void;
}) {
  const [pass, setPass] = useState('');
  const [again, setAgain] = useState('');
  const [label, setLabel] = useState('My MedBloc key');
  const { run, busy, error } = useAction(async () => {
    checkPassphrase(pass, again);
    onDone(await saveIdentity(mnemonic, pass, label || 'My MedBloc key'));
  });
  return (
    <form
      className="card"
      aria-labelledby="protect-h"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <h2 id="protect-h">Protect this device's copy</h2>
      <p>This browser keeps your key encrypted under a passphrase. You will need it each time you unlock.</p>
      <PassphraseFields {...{ pass, setPass, again, setAgain, label, setLabel }} />
      <ErrorBox error={error} />
      <div className="actions">
        <button type="button" onClick={onBack}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Encrypting…' : 'Save and continue'}
        </button>
      </div>
    </form>
  );
}

function Restore({ onBack, onDone }: { onBack: () => void; onDone: (id: Identity) => void }) {
  const [phrase, setPhrase] = useState('');
  const [pass, setPass] = useState('');
  const [again, setAgain] = useState('');
  const [label, setLabel] = useState('Restored key');
  const { run, busy, error } = useAction(async () => {
    identityFromMnemonic(phrase); // validates the words and checksum first
    checkPassphrase(pass, again);
    onDone(await saveIdentity(phrase, pass, label || 'Restored key'));
  });
  return (
    <form
      className="card"
      aria-labelledby="restore-h"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <h2 id="restore-h">Restore from a recovery phrase</h2>
      <div className="field">
        <label htmlFor="phrase">Recovery phrase (12 or 24 words, separated by spaces)</label>
        <textarea
          id="phrase"
          rows={3}
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          value={phrase}
          onChange={(e) => setPhrase(e.target.value)}
          required
        />
      </div>
      <PassphraseFields {...{ pass, setPass, again, setAgain, label, setLabel }} />
      <ErrorBox error={error} />
      <div className="actions">
        <button type="button" onClick={onBack}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Restoring…' : 'Restore'}
        </button>
      </div>
    </form>
  );
}

/**
 * Social recovery on this device: a one-time recovery key pair is made here (its private half never leaves this
 * tab), the node passes its public key to the patient's guardians, and once enough of them released their shares
 * to it, the shares are combined here into the patient's phrase, checked against the patient's address.
 */
function RecoverWithGuardians({ onBack, onDone }: { onBack: () => void; onDone: (id: Identity) => void }) {
  const [address, setAddress] = useState('');
  const key = useRef<ReturnType<typeof createRecoveryKey> | undefined>(undefined);
  const [asked, setAsked] = useState<{ threshold: number; guardians: number; code: string } | undefined>();
  const [recovered, setRecovered] = useState<Identity | undefined>();
  const [pass, setPass] = useState('');
  const [again, setAgain] = useState('');
  const [label, setLabel] = useState('Recovered key');
  const ask = useAction(async () => {
    if (!isAddress(address.trim()))
      throw Object.assign(new Error('That is not a valid address.'), { name: 'InputError' });
    key.current = createRecoveryKey();
    const out = await requestRecovery({
      node: nodeUrl(),
      patient: address.trim() as `0x${string}`,
      recoveryKey: key.current.publicKeyHex,
    });
    setAsked({ threshold: out.threshold, guardians: out.guardians, code: keyCode(key.current.publicKeyHex) });
  });
  const collect = useAction(async () => {
    if (!key.current) return;
    const out = await recoverIdentity({
      node: nodeUrl(),
      patient: address.trim() as `0x${string}`,
      recoveryKey: key.current,
    });
    setRecovered(out.identity);
  });
  const save = useAction(async () => {
    if (!recovered) return;
    checkPassphrase(pass, again);
    key.current = undefined;
    onDone(await saveIdentity(recovered.mnemonic, pass, label || 'Recovered key'));
  });
  return (
    <section className="card" aria-labelledby="guardians-h">
      <h2 id="guardians-h">Recover with your guardians</h2>
      {!asked && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void ask.run();
          }}
        >
          <p>
            If you set up recovery guardians, enough of them together can restore your identity here. Nothing
            secret is sent: this device makes a one-time key, and each guardian seals their share to it.
          </p>
          <div className="field">
            <label htmlFor="recover-address">Your MedBloc address</label>
            <input
              id="recover-address"
              value={address}
              onChange={(e) => setAddress(e.target.value)}
              placeholder="0x…"
              spellCheck={false}
              autoComplete="off"
              aria-invalid={address !== '' && !isAddress(address.trim())}
              required
            />
          </div>
          <ErrorBox error={ask.error} />
          <div className="actions">
            <button type="button" onClick={onBack}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={ask.busy}>
              {ask.busy ? 'Asking…' : 'Ask my guardians'}
            </button>
          </div>
        </form>
      )}
      {asked && !recovered && (
        <div>
          <p role="status">
            Your guardians have been asked. Tell {asked.threshold} of your {asked.guardians} guardians this
            device code, and ask them to release their share to it in their MedBloc portal:
          </p>
          <p className="keycode big" data-testid="recovery-code">
            {asked.code}
          </p>
          <p className="muted">Keep this tab open: the one-time key exists only here.</p>
          <ErrorBox error={collect.error} />
          <div className="actions">
            <button type="button" onClick={onBack}>
              Cancel
            </button>
            <button
              type="button"
              className="primary"
              disabled={collect.busy}
              onClick={() => void collect.run()}
            >
              {collect.busy ? 'Combining shares…' : 'Check and recover'}
            </button>
          </div>
        </div>
      )}
      {recovered && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <div className="alert alert-ok" role="status">
            <strong>Identity recovered:</strong> <Addr value={recovered.address} />. Write your recovery
            phrase down again and keep it safe:
          </div>
          <ol className="phrase" data-testid="recovered-mnemonic">
            {recovered.mnemonic.split(' ').map((w, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the position is the identity of a word
              <li key={i}>
                <span className="n">{i + 1}</span> <span className="w">{w}</span>
              </li>
            ))}
          </ol>
          <PassphraseFields {...{ pass, setPass, again, setAgain, label, setLabel }} />
          <ErrorBox error={save.error} />
          <div className="actions">
            <button type="submit" className="primary" disabled={save.busy}>
              {save.busy ? 'Encrypting…' : 'Save and continue'}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
