import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import type { ClockCommand } from '../kernel/account-clocks.js';
import { AccountParams, duration, invalid, notFound, type AdminDeps } from './common.js';

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

  accountClockRoutes(app, deps);
}

/** An account's clock: a test's own time, moving that account's resources and nobody else's (kernel/account-clocks.ts). */
function accountClockRoutes(app: App, deps: AdminDeps): void {
  const { kernel } = deps;
  const accountClock = async (accountId: string, command: ClockCommand) => {
    let result;
    try {
      result = await kernel.commandAccountClock(accountId, command);
    } catch (error) {
      if (error instanceof RangeError) throw invalid(error.message);
      throw error;
    }
    if (!result) throw notFound('account', accountId);
    return result;
  };
  const withoutCount = ({ applied: _applied, ...view }: { now: string; frozen: boolean; follows_global: boolean; applied: number }) => view;
  app.get('/accounts/:account_id/clock', { config: { doc: { operationId: 'getAccountClock', summary: "An account's clock: its time, whether it is frozen, whether it follows the global clock", tags: ['Clock'] } }, schema: { params: AccountParams } }, async (req) => {
    const view = await kernel.accountClock(req.params.account_id);
    if (!view) throw notFound('account', req.params.account_id);
    return view;
  });
  app.post('/accounts/:account_id/clock/freeze', { config: { doc: { operationId: 'freezeAccountClock', summary: "Stop an account's clock (now, or at a later instant): it stops following the global clock", tags: ['Clock'] } }, schema: { params: AccountParams, body: Type.Optional(Type.Object({ at: Type.Optional(Type.String({ format: 'date-time' })) })) } }, async (req) => {
    const at = req.body?.at === undefined ? undefined : Date.parse(req.body.at);
    return withoutCount(await accountClock(req.params.account_id, { op: 'freeze', at }));
  });
  app.post('/accounts/:account_id/clock/advance', { config: { doc: { operationId: 'advanceAccountClock', summary: "Move an account's clock forward; that account's transitions that fall due are applied before the answer, and only those", tags: ['Clock'] } }, schema: { params: AccountParams, body: Type.Object({ by: Type.Union([Type.String(), Type.Integer({ minimum: 0 })]) }) } }, async (req) =>
    accountClock(req.params.account_id, { op: 'advance', by: duration(req.body.by, 'by') }),
  );
  app.post('/accounts/:account_id/clock/resume', { config: { doc: { operationId: 'resumeAccountClock', summary: "Let an account's frozen clock run again", tags: ['Clock'] } }, schema: { params: AccountParams } }, async (req) =>
    withoutCount(await accountClock(req.params.account_id, { op: 'resume' })),
  );
  app.post('/accounts/:account_id/clock/release', { config: { doc: { operationId: 'releaseAccountClock', summary: 'Let an account follow the global clock again (an account ahead keeps its lead: its time never goes back)', tags: ['Clock'] } }, schema: { params: AccountParams } }, async (req) =>
    withoutCount(await accountClock(req.params.account_id, { op: 'release' })),
  );
}
