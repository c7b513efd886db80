// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simulated reader's interrupt line: a one-interrupt controller with
 * its own irq_domain, so that the core driver requests an ordinary Linux
 * interrupt (from its platform device's IRQ resource) as it would on a
 * board.
 *
 * The line is level-triggered: asserted while INT_STATUS & INT_ENABLE is
 * non-zero (and no stall injection holds it off).  Whenever the register
 * model changes one of the line's inputs, or the interrupt is unmasked,
 * and the line is asserted, an irq_work runs the interrupt's flow
 * handler in hard-irq context, as a parent interrupt controller's
 * chained handler would.  A handler that acknowledges only part of the
 * pending bits is called again at once; one that acknowledges none is
 * called again at the next change of the line's inputs (no interrupt
 * storm).
 *
 * The kernel's own interrupt simulator (kernel/irq/irq_sim.c,
 * irq_domain_create_sim()) works the same way, but Debian's 6.1 kernel
 * is built without CONFIG_IRQ_SIM, and it is an edge model: a pending
 * edge raised while masked is lost, which a level line must not be.
 *
 * Locking, valid on PREEMPT_RT too.  The irq_work is a hard one
 * (IRQ_WORK_INIT_HARD): the flow handler must run in hard-irq context,
 * on PREEMPT_RT as well.  There a spinlock_t is a sleeping lock, so the
 * work must not take sim_dev.lock: it reads only @line, @irq_masked and
 * @dead, each a single word written with WRITE_ONCE.  The register model
 * recomputes @line under sim_dev.lock whenever an input changes
 * (sim_irq_update_locked()); the work may thus act on a value that is
 * already stale, like a real controller that samples a line an instant
 * before the device drops it: the driver's handler then finds
 * INT_STATUS empty and returns IRQ_NONE, which is harmless.
 */
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/irqdomain.h>
#include <linux/irq_work.h>

#include "sim.h"

/* Deliver, if the line is asserted and not masked; any context. */
static void sim_irq_kick(struct sim_dev *sd)
{
	if (READ_ONCE(sd->line) && !READ_ONCE(sd->irq_masked) &&
	    !READ_ONCE(sd->dead))
		irq_work_queue(&sd->irq_work);
}

/* An input of the line changed: recompute it.  Under sd->lock. */
void sim_irq_update_locked(struct sim_dev *sd)
{
	bool line;

	lockdep_assert_held(&sd->lock);
	/* A stall injection (sim_inject.c) holds the line off meanwhile. */
	line = (sd->int_status & sd->int_enable) && !sd->stalled && !sd->dead;
	WRITE_ONCE(sd->line, line);
	sim_irq_kick(sd);
}

/* Hard-irq context, also on PREEMPT_RT: no sleeping lock here. */
static void sim_irq_deliver(struct irq_work *work)
{
	struct sim_dev *sd = container_of(work, struct sim_dev, irq_work);

	if (READ_ONCE(sd->line) && !READ_ONCE(sd->irq_masked) &&
	    !READ_ONCE(sd->dead))
		generic_handle_domain_irq(sd->domain, 0);
}

/* irq_chip callbacks: the irq descriptor's raw spinlock is held. */
static void sim_irq_mask(struct irq_data *d)
{
	struct sim_dev *sd = irq_data_get_irq_chip_data(d);

	WRITE_ONCE(sd->irq_masked, true);
}

static void sim_irq_unmask(struct irq_data *d)
{
	struct sim_dev *sd = irq_data_get_irq_chip_data(d);

	WRITE_ONCE(sd->irq_masked, false);
	sim_irq_kick(sd);
}

static const struct irq_chip sim_irq_chip = {
	.name = "bioreader-sim",
	.irq_mask = sim_irq_mask,
	.irq_unmask = sim_irq_unmask,
	.flags = IRQCHIP_SKIP_SET_WAKE,
};

static int sim_irq_map(struct irq_domain *domain, unsigned int virq,
		       irq_hw_number_t hw)
{
	struct sim_dev *sd = domain->host_data;

	irq_set_chip_data(virq, sd);
	irq_set_chip_and_handler(virq, &sim_irq_chip, handle_simple_irq);
	irq_modify_status(virq, IRQ_NOREQUEST | IRQ_NOAUTOEN, IRQ_NOPROBE);
	return 0;
}

static void sim_irq_unmap(struct irq_domain *domain, unsigned int virq)
{
	irq_set_chip_and_handler(virq, NULL, NULL);
	irq_set_chip_data(virq, NULL);
}

static const struct irq_domain_ops sim_irq_domain_ops = {
	.map = sim_irq_map,
	.unmap = sim_irq_unmap,
};

int sim_irq_init(struct sim_dev *sd)
{
	sd->irq_masked = true;
	/* Deliver from hard-irq context, even on PREEMPT_RT. */
	sd->irq_work = IRQ_WORK_INIT_HARD(sim_irq_deliver);

	sd->fwnode = irq_domain_alloc_named_fwnode(dev_name(sd->dev));
	if (!sd->fwnode)
		return -ENOMEM;
	sd->domain = irq_domain_create_linear(sd->fwnode, 1,
					      &sim_irq_domain_ops, sd);
	if (!sd->domain) {
		irq_domain_free_fwnode(sd->fwnode);
		return -ENOMEM;
	}
	sd->virq = irq_create_mapping(sd->domain, 0);
	if (!sd->virq) {
		irq_domain_remove(sd->domain);
		irq_domain_free_fwnode(sd->fwnode);
		return -ENXIO;
	}
	return 0;
}

/* Called once the child device (the interrupt's only user) is gone. */
void sim_irq_fini(struct sim_dev *sd)
{
	unsigned long flags;

	spin_lock_irqsave(&sd->lock, flags);
	WRITE_ONCE(sd->dead, true);
	sim_irq_update_locked(sd);
	spin_unlock_irqrestore(&sd->lock, flags);
	irq_work_sync(&sd->irq_work);

	irq_dispose_mapping(sd->virq);
	irq_domain_remove(sd->domain);
	irq_domain_free_fwnode(sd->fwnode);
}
