import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import { duration, invalid, type AdminDeps } from './common.js';

/** The clock: read, frozen, resumed and moved forward. */
export function clockRoutes(app: App, deps: AdminDeps): void {
  const { kernel } = deps;
  const clockView = () => ({ now: kernel.clock.iso(), frozen: kernel.clock.frozen });
  app.get('/clock', { config: { doc: { operationId: 'getClock', summary: 'The time as Hangar sees it', tags: ['Clock'] } } }, async () => clockView());
  app.post('/clock/freeze', { config: { doc: { operationId: 'freezeClock', summary: 'Stop the clock (now, or at a later instant)', tags: ['Clock'] } }, schema: { body: Type.Optional(Type.Object({ at: Type.Optional(Type.String({ format: 'date-time' })) })) } }, async (req) => {
    const at = req.body?.at === undefined ? undefined : Date.parse(req.body.at);
    if (at !== undefined && at < kernel.clock.now()) throw invalid('"at" must not be earlier than the clock: it only moves forward');
    kernel.clock.freeze(at);
    await kernel.shareControls();
    await kernel.lifecycle.releaseDue();
    return clockView();
  });
  app.post('/clock/resume', { config: { doc: { operationId: 'resumeClock', summary: 'Let the clock run again', tags: ['Clock'] } } }, async () => {
    kernel.clock.resume();
    await kernel.shareControls();
    return clockView();
  });
  app.post('/clock/advance', { config: { doc: { operationId: 'advanceClock', summary: 'Move the clock forward; transitions that fall due are applied before the answer', tags: ['Clock'] } }, schema: { body: Type.Object({ by: Type.Union([Type.String(), Type.Integer({ minimum: 0 })]) }) } }, async (req) => {
    kernel.clock.advance(duration(req.body.by, 'by'));
    // Everything that fell due in the skipped interval is applied, in order, before answering.
    // Moving the clock has already started that run: join it now, so that the count is its
    // count even when it ends while the new clock is being shared.
    const applying = kernel.lifecycle.runDue();
    await kernel.shareControls();
    const applied = (await applying) + (await kernel.lifecycle.releaseDue());
    return { ...clockView(), applied };
  });
}
