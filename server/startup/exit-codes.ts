// Exit codes the stack's Node processes use towards pm2.

/**
 * A process asked to stop before it had sent pm2 its 'ready' exits with this code, listed in the pm2
 * app's `stop_exit_codes`. pm2 7 marks an app 'online' when its process exits before 'ready' (it answers
 * the pending wait_ready), which turns a requested stop into a crash and an automatic restart: `npm stop`
 * could not stop a worker still waiting for its database. Exit 0 cannot serve here, because a SIGKILLed
 * process also reaches pm2 as code 0 and must still be restarted. 75 is EX_TEMPFAIL.
 */
export const STOPPED_BEFORE_READY = 75;
