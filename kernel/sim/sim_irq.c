// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simulated reader's interrupt line: a one-interrupt controller with
 * its own irq_domain, so that the core driver requests an ordinary Linux
 * interrupt (from its platform device's IRQ resource) as it would on a
 * board.
 *
 * The line is level-triggered: asserted while INT_STATUS & INT_ENABLE is
 * non-zero.  Whenever the register model changes either register, or the
 * interrupt is unmasked, and the line is asserted, an irq_work runs the
 * interrupt's flow handler in hard-irq context, as a parent interrupt
 * controller's chained handler would.  A handler that acknowledges only
 * part of the pending bits is called again at once; one that
 * acknowledges none is called again at the next change of the line's
 * inputs (no interrupt storm).
 */
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/irqdomain.h>
#include <linux/irq_work.h>

#include "sim.h"

/* A stall injection (sim_inject.c) holds the line off meanwhile. */
static bool sim_irq_asserted_locked(struct sim_dev *sd)
{
	return (sd->int_status & sd->int_enable) && !sd->stalled;
}

void sim_irq_update_locked(struct sim_dev *sd)
{
	if (!sd->dead && sim_irq_asserted_locked(sd) &&
	    !READ_ONCE(sd->irq_masked))
		irq_work_queue(&sd->irq_work);
}

static void sim_irq_deliver(struct irq_work *work)
{
	struct sim_dev *sd = container_of(work, struct sim_dev, irq_work);
	unsigned long flags;
	bool fire;

	spin_lock_irqsave(&sd->lock, flags);
	fire = !sd->dead && sim_irq_asserted_locked(sd) &&
	       !READ_ONCE(sd->irq_masked);
	spin_unlock_irqrestore(&sd->lock, flags);

	if (fire)
		generic_handle_domain_irq(sd->domain, 0);
}

static void sim_irq_mask(struct irq_data *d)
{
	struct sim_dev *sd = irq_data_get_irq_chip_data(d);

	WRITE_ONCE(sd->irq_masked, true);
}

static void sim_irq_unmask(struct irq_data *d)
{
	struct sim_dev *sd = irq_data_get_irq_chip_data(d);

	WRITE_ONCE(sd->irq_masked, false);
	/* The work checks whether the line is asserted. */
	if (!READ_ONCE(sd->dead))
		irq_work_queue(&sd->irq_work);
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
	sd->dead = true;
	spin_unlock_irqrestore(&sd->lock, flags);
	irq_work_sync(&sd->irq_work);

	irq_dispose_mapping(sd->virq);
	irq_domain_remove(sd->domain);
	irq_domain_free_fwnode(sd->fwnode);
}
