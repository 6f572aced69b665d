import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import { timingProfiles, type ProgressMode, type TimingProfile } from '../kernel/lifecycle/engine.js';
import { AdminError, duration, invalid, type AdminDeps } from './common.js';

/** Lifecycle progression: the timing profile, each kind's mode and durations, held transitions released. */
export function lifecycleRoutes(app: App, deps: AdminDeps): void {
  const { kernel } = deps;
  const kinds = () => kernel.lifecycle.describe().map((k) => k.kind);
  const transitionsOf = (kind: string) => kernel.lifecycle.describe().find((k) => k.kind === kind)?.transitions.map((t) => t.name).join(', ') ?? '';
  const unknownKind = (kind: string) => new AdminError(404, 'not_found', `lifecycle kind "${kind}" not found (kinds: ${kinds().join(', ')})`);
  app.get('/lifecycle', { config: { doc: { operationId: 'getLifecycle', summary: 'Resource kinds, their transitions, durations and progress modes', tags: ['Lifecycles'] } } }, async () => ({ profile: kernel.lifecycle.timingProfile, kinds: kernel.lifecycle.describe() }));
  app.put(
    '/lifecycle',
    { config: { doc: { operationId: 'setTimingProfile', summary: 'Choose the timing profile (instant, fast, realistic)', tags: ['Lifecycles'] } }, schema: { body: Type.Object({ profile: Type.Unsafe<TimingProfile>({ type: 'string', enum: [...timingProfiles] }) }) } },
    async (req) => {
      kernel.lifecycle.setProfile(req.body.profile);
      await kernel.shareControls();
      return { profile: kernel.lifecycle.timingProfile, kinds: kernel.lifecycle.describe() };
    },
  );
  app.put(
    '/lifecycle/:kind',
    {
      config: { doc: { operationId: 'setLifecycleMode', summary: 'Change how a kind progresses: mode (time, reads, manual) and durations', tags: ['Lifecycles'] } },
      schema: {
        params: Type.Object({ kind: Type.String() }),
        body: Type.Object({
          mode: Type.Optional(Type.Unsafe<'time' | 'reads' | 'manual'>({ type: 'string', enum: ['time', 'reads', 'manual'] })),
          reads: Type.Optional(Type.Integer({ minimum: 1 })),
          durations: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Integer({ minimum: 0 }), Type.Null()]))),
        }),
      },
    },
    async (req) => {
      const { kind } = req.params;
      if (!kernel.lifecycle.knows(kind)) throw unknownKind(kind);
      const { mode, reads, durations } = req.body;
      for (const transition of Object.keys(durations ?? {})) {
        if (!kernel.lifecycle.knows(kind, transition)) throw invalid(`kind ${kind} has no transition "${transition}" (transitions: ${transitionsOf(kind)})`);
      }
      if (mode === 'reads' && reads === undefined) throw invalid('"reads" is required with mode "reads"');
      for (const [transition, value] of Object.entries(durations ?? {})) {
        kernel.lifecycle.setOverride(kind, transition, value === null ? null : duration(value, `durations.${transition}`));
      }
      if (mode !== undefined) {
        const progress: ProgressMode = mode === 'reads' ? { mode, reads: reads! } : { mode };
        kernel.lifecycle.setMode(kind, progress);
      }
      await kernel.shareControls();
      return kernel.lifecycle.describe().find((k) => k.kind === kind);
    },
  );
  app.post(
    '/lifecycle/advance',
    { config: { doc: { operationId: 'advanceLifecycles', summary: 'Apply held transitions now', tags: ['Lifecycles'] } }, schema: { body: Type.Optional(Type.Object({ kind: Type.Optional(Type.String()), resource_id: Type.Optional(Type.String()) })) } },
    async (req) => ({ applied: await kernel.lifecycle.release({ kind: req.body?.kind, resourceId: req.body?.resource_id }) }),
  );
}
