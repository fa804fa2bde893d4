"""Device drivers and simulators behind one interface (:class:`tools.devices.base.Driver`)."""
