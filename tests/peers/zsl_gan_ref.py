"""tests/peers/zsl_gan_ref.py - PyTorch reference for tests/test_zsl_gan.c (models/zsl_gan.c).

Usage: /usr/bin/python3 tests/peers/zsl_gan_ref.py OUTDIR   (writes OUTDIR/zsl_gan/*.f32)

The GAZSL/CIZSL networks as in EthanZhu90/ZSL_GAN models.py (the text _netG, _netG_att,
_netD), at small sizes, with xavier_normal weights and (unlike the spec's zero init) random
biases so the bias paths matter. Weights and inputs come from a fixed torch seed and are written
as raw float32 in state-dict order; the C suite uploads them into its parameter blocks. Then:
  - forward outputs of both generators and of the critic's two heads;
  - the critic step of specs/pipelines.md 1.3 without the penalty (two backward calls:
    -mean(D(x)) + CE(aux(x), y), then mean(D(G)) + CE(aux(G), y) with G detached);
  - the WGAN-GP penalty and its parameter gradient from
    torch.autograd.grad(gp, netD.parameters(), allow_unused=True), gp computed with
    create_graph=True exactly as GAZSL's calc_gradient_penalty (per-sample alpha, lambda 10),
    for the spec's ReLU critic and for a tanh critic (the same weights) that exercises the
    second-order term;
  - the generator step: -mean(D(G)) + (CE(aux(x), y) + CE(aux(G), y)) / 2, gradients of G and D;
  - the attribute generator's parameter gradients for a given output gradient.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

B, X, H, TEXT, RDC, Z, NSEEN = 7, 64, 96, 50, 40, 12, 5
ATT, ZATT = 20, 10
LAMBDA = 10.0


class NetG(nn.Module):
    def __init__(self):
        super().__init__()
        self.rdc_text = nn.Linear(TEXT, RDC)
        self.main = nn.Sequential(nn.Linear(Z + RDC, H), nn.LeakyReLU(), nn.Linear(H, X), nn.Tanh())

    def forward(self, z, c):
        return self.main(torch.cat([z, self.rdc_text(c)], 1))


class NetGAtt(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(ZATT + ATT, H), nn.LeakyReLU(), nn.Linear(H, X), nn.Tanh())

    def forward(self, z, c):
        return self.main(torch.cat([z, c], 1))


class NetD(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.D_shared = nn.Sequential(nn.Linear(X, H), act)
        self.D_gan = nn.Linear(H, 1)
        self.D_aux = nn.Linear(H, NSEEN)

    def forward(self, x):
        h = self.D_shared(x)
        return self.D_gan(h), self.D_aux(h)


def init(net):
    for m in net.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            nn.init.uniform_(m.bias, -0.1, 0.1)


def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors]).numpy().astype(np.float32)


def grads(net):
    return flat([p.grad if p.grad is not None else torch.zeros_like(p) for p in net.parameters()])


def gradient_penalty(netD, real, fake, alpha):
    """GAZSL's calc_gradient_penalty with the alpha given."""
    a = alpha.expand(real.size())
    interpolates = (a * real + (1 - a) * fake).detach().requires_grad_(True)
    disc, _ = netD(interpolates)
    g = torch.autograd.grad(outputs=disc, inputs=interpolates, grad_outputs=torch.ones(disc.size()),
                            create_graph=True, retain_graph=True, only_inputs=True)[0]
    return ((g.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA, interpolates.detach()


def main():
    out = os.path.join(sys.argv[1], "zsl_gan")
    os.makedirs(out, exist_ok=True)

    def put(name, arr):
        np.asarray(arr, dtype=np.float32).tofile(os.path.join(out, name + ".f32"))

    torch.manual_seed(20260421)
    netG, netGa, netD = NetG(), NetGAtt(), NetD(nn.ReLU())
    for n in (netG, netGa, netD):
        init(n)
    netDt = NetD(nn.Tanh())
    netDt.load_state_dict(netD.state_dict())
    z = torch.randn(B, Z)
    text = torch.rand(B, TEXT)
    x_real = torch.randn(B, X) * 0.5
    y = torch.randint(0, NSEEN, (B,))
    alpha = torch.rand(B, 1)
    z_att = torch.randn(B, ZATT)
    att = torch.rand(B, ATT)
    dout_att = torch.randn(B, X)

    put("g_params", flat(netG.state_dict().values()))
    put("ga_params", flat(netGa.state_dict().values()))
    put("d_params", flat(netD.state_dict().values()))
    for name, t in [("z", z), ("text", text), ("x_real", x_real), ("labels", y.float()),
                    ("alpha", alpha), ("z_att", z_att), ("att", att), ("dout_att", dout_att)]:
        put(name, t.numpy())

    # forward
    with torch.no_grad():
        put("g_out", netG(z, text).numpy())
        put("ga_out", netGa(z_att, att).numpy())
        gan, aux = netD(x_real)
        put("d_gan", gan.numpy())
        put("d_aux", aux.numpy())

    # critic step without the penalty: the two backward calls of train_CUB.py
    netD.zero_grad()
    d_real, c_real = netD(x_real)
    loss_real = -d_real.mean() + F.cross_entropy(c_real, y)
    loss_real.backward()
    g_sample = netG(z, text).detach()
    d_fake, c_fake = netD(g_sample)
    loss_fake = d_fake.mean() + F.cross_entropy(c_fake, y)
    loss_fake.backward()
    put("d_step_losses", [loss_real.item(), loss_fake.item()])
    put("d_step_grads", grads(netD))

    # the penalty: autograd.grad of the create_graph penalty, ReLU and tanh critics
    for tag, net in (("relu", netD), ("tanh", netDt)):
        gp, x_hat = gradient_penalty(net, x_real, g_sample, alpha)
        gp_grads = torch.autograd.grad(gp, list(net.parameters()), allow_unused=True)
        put("gp_%s_loss" % tag, [gp.item()])
        put("gp_%s_grads" % tag, flat([g if g is not None else torch.zeros_like(p)
                                       for g, p in zip(gp_grads, net.parameters())]))
        # the training code's own route (.backward()) must agree with autograd.grad
        net.zero_grad()
        gp2, _ = gradient_penalty(net, x_real, g_sample, alpha)
        gp2.backward()
        assert np.array_equal(grads(net), flat([g if g is not None else torch.zeros_like(p)
                                                for g, p in zip(gp_grads, net.parameters())]))
    put("x_hat", x_hat.numpy())

    # generator step (GAZSL part without the centroid and weight regularisers)
    netG.zero_grad()
    netD.zero_grad()
    g_sample = netG(z, text)
    d_fake, c_fake = netD(g_sample)
    _, c_real = netD(x_real)
    g_loss = -d_fake.mean() + (F.cross_entropy(c_real, y) + F.cross_entropy(c_fake, y)) / 2
    g_loss.backward()
    put("g_step_loss", [g_loss.item()])
    put("g_step_g_grads", grads(netG))
    put("g_step_d_grads", grads(netD))

    # attribute generator: parameter gradients of <dout_att, G_att(z, att)>
    netGa.zero_grad()
    (netGa(z_att, att) * dout_att).sum().backward()
    put("ga_grads", grads(netGa))


if __name__ == "__main__":
    main()
